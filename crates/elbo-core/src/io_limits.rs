//! Size-capped reading of the files a user names (data and schedule files), so that a
//! path such as `/dev/zero` or a huge file is a clear error instead of an unbounded read.

use std::io::Read;
use std::path::Path;

use thiserror::Error;

/// The largest data or schedule file read, in bytes (64 MiB: far above any mixture, point
/// cloud or betas list ELBO Lab can use, far below what would strain memory).
pub const MAX_INPUT_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a capped read failed. The caller names the file.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file holds more than the cap.
    #[error("larger than the {} limit for input files", size_text(*.cap))]
    TooLarge {
        /// The cap in bytes.
        cap: u64,
    },
    /// The bytes are not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
}

/// `64 MiB` for whole mebibytes, otherwise `1000 bytes`.
fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Read a whole text file of at most `cap` bytes. At most `cap + 1` bytes are ever read,
/// so an endless file (`/dev/zero`) stops at once.
pub fn read_text_capped(path: &Path, cap: u64) -> Result<String, ReadError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_stops_at_the_cap() {
        let e = read_text_capped(Path::new("/dev/zero"), 1024).expect_err("endless");
        assert!(matches!(e, ReadError::TooLarge { cap: 1024 }), "{e}");
        assert_eq!(
            e.to_string(),
            "larger than the 1024 bytes limit for input files"
        );
        assert_eq!(size_text(MAX_INPUT_FILE_BYTES), "64 MiB");
    }
}
