//! Board-profile test helpers: the shipped `boards/` directory and a
//! scratch directory of profile files.
//!
//! ```ignore
//! #[path = "support/profile_dir.rs"]
//! mod profile_dir;
//! use profile_dir::{shipped_boards, Dir};
//! ```

use std::path::{Path, PathBuf};

/// The repository's `boards/`.
pub fn shipped_boards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards")
}

/// A scratch directory of profile files, removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    /// A fresh directory named after `tag` and this test process.
    pub fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("lwm-profiles-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// Writes `name.toml`.
    pub fn file(&self, name: &str, text: &str) -> &Dir {
        std::fs::write(self.0.join(format!("{name}.toml")), text).unwrap();
        self
    }

    /// Loads `name`, which must be refused with a one-line error.
    pub fn load_err(&self, name: &str) -> String {
        let e = lwm::board::load(&self.0, name).expect_err("profile must be refused");
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "one-line error: {msg:?}");
        msg
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
