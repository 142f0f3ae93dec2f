//! A fixed buffer line builder: no core::fmt (it would triple the library
//! size) and no allocation.

pub struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    pub const fn new() -> Self {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }

    #[inline(never)]
    pub fn str(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
        self
    }

    #[inline(never)]
    pub fn num(&mut self, mut n: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[i..] {
            if self.len < self.buf.len() {
                self.buf[self.len] = d;
                self.len += 1;
            }
        }
        self
    }

    /// `key=value` with a leading space.
    #[inline(never)]
    pub fn field(&mut self, key: &str, value: u64) -> &mut Self {
        self.str(" ").str(key).str("=").num(value)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
