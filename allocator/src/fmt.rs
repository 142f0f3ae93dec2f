//! A fixed buffer line builder: no core::fmt (it would triple the library
//! size) and no allocation.

pub struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    // No `Default`: a `const fn` is what the callers need (a line built
    // in a static context), and an unused impl is one more thing to read.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }

    #[inline(never)]
    pub fn str(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        self
    }

    /// Appends `n` in decimal. By subtracting powers of ten, not dividing:
    /// on 32-bit ARM a 64-bit division pulls in a 900-byte helper.
    #[inline(never)]
    pub fn num(&mut self, mut n: u64) -> &mut Self {
        let mut powers = [1u64; 20];
        let mut top = 0;
        while top + 1 < powers.len() {
            match powers[top].checked_mul(10) {
                Some(p) if p <= n => {
                    powers[top + 1] = p;
                    top += 1;
                }
                _ => break,
            }
        }
        for &p in powers.iter().take(top + 1).rev() {
            let mut digit = b'0';
            while n >= p {
                n -= p;
                digit += 1;
            }
            self.byte(digit);
        }
        self
    }

    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `key=value` with a leading space.
    #[inline(never)]
    pub fn field(&mut self, key: &str, value: u64) -> &mut Self {
        self.str(" ").str(key).str("=").num(value)
    }

    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}
