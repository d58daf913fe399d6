//! Reading and writing the files a user names, so that nothing is lost and nothing hangs.
//!
//! - **Reading** opens only regular files, without blocking (a FIFO, a device or a
//!   directory is refused by its kind before a byte is read), and reads at most a cap (so
//!   a huge file is a clear error instead of gigabytes of memory). A leading UTF-8 byte
//!   order mark is dropped, as editors on Windows write one.
//! - **Writing** goes to a temporary file in the target's folder, which is flushed to disk
//!   and then renamed over the target ([`write_atomic`], [`AtomicFile`]): a crash, a kill
//!   or a full disk leaves either the old file or the new one, never a torn one, and a
//!   write that is abandoned (an export cancelled) leaves the old file as it was.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The largest data or schedule file read, in bytes (64 MiB: far above any mixture, point
/// cloud or betas list ELBO Lab can use, far below what would strain memory).
pub const MAX_INPUT_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a capped read failed. The caller names the file.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The path names something other than a regular file (reading it could block forever
    /// or never end).
    #[error("not a regular file but {0}")]
    NotRegular(&'static str),
    /// The file holds more than the cap.
    #[error("larger than the {} limit for this file", size_text(*.cap))]
    TooLarge {
        /// The cap in bytes.
        cap: u64,
    },
    /// The bytes are not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
}

/// `64 MiB` for whole mebibytes, otherwise `1000 bytes`.
pub fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a file type is, in words, when it is not a regular file.
fn kind_of(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a file")
}

/// Open `path` for reading if it is a regular file (after following links). The open never
/// blocks: on Unix it is non-blocking (a FIFO with no writer opens at once) and the type is
/// then checked on the open handle, so nothing can be swapped in between.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    match kind_of(file.metadata()?.file_type()) {
        None => Ok(file),
        Some(kind) => Err(ReadError::NotRegular(kind)),
    }
}

/// The length of `path` if it is a regular file, checked without opening it for long (see
/// [`open_regular`]).
pub fn regular_file_len(path: &Path) -> Result<u64, ReadError> {
    Ok(open_regular(path)?.metadata()?.len())
}

/// Read a whole regular file of at most `cap` bytes. At most `cap + 1` bytes are ever read,
/// so a file that grows while it is read stops at the cap too.
pub fn read_bytes_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    if file.metadata()?.len() > cap {
        return Err(ReadError::TooLarge { cap });
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(bytes)
}

/// Read a whole text file of at most `cap` bytes (see [`read_bytes_capped`]), without a
/// leading byte order mark.
pub fn read_text_capped(path: &Path, cap: u64) -> Result<String, ReadError> {
    let mut text =
        String::from_utf8(read_bytes_capped(path, cap)?).map_err(|_| ReadError::NotText)?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// `text` without a leading UTF-8 byte order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A file being written to a temporary name beside its target; [`AtomicFile::commit`]
/// flushes it to disk and renames it over the target. Dropped without a commit, the
/// temporary file is deleted and the target is untouched.
pub struct AtomicFile {
    writer: BufWriter<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl AtomicFile {
    /// Start writing `path` (its folder must exist). An existing target keeps its
    /// permissions; a new one gets the usual ones (read-write for the user, subject to the
    /// umask), not the temporary file's private ones. A link to a file replaces the file
    /// it points to (the link stays). Anything at `path` that is not a regular file (a
    /// folder, a device such as `/dev/null`, a named pipe) is refused by its kind: it is
    /// never replaced by a file.
    pub fn create(path: &Path) -> io::Result<Self> {
        let path = &match std::fs::metadata(path) {
            Ok(meta) => match kind_of(meta.file_type()) {
                None => std::fs::canonicalize(path)?,
                Some(kind) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("not a regular file but {kind}"),
                    ));
                }
            },
            Err(_) => path.to_path_buf(),
        };
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(&folder)?;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.is_file()
        {
            temp.as_file().set_permissions(meta.permissions())?;
        }
        Ok(AtomicFile {
            writer: BufWriter::new(temp),
            path: path.to_path_buf(),
        })
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush to disk and rename over the target, then flush the folder (so the rename
    /// itself survives a power cut).
    pub fn commit(self) -> io::Result<()> {
        let temp = self.writer.into_inner().map_err(|e| e.into_error())?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        sync_folder(&self.path);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Flush the folder holding `path` (where the platform can: a folder cannot be opened
/// for this on Windows, and a failure here loses nothing already written).
fn sync_folder(path: &Path) {
    #[cfg(unix)]
    if let Some(folder) = path.parent() {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        if let Ok(dir) = File::open(folder) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Write `bytes` to `path` atomically (see [`AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes.as_ref())?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_device_is_refused_by_its_kind() {
        let e = read_text_capped(Path::new("/dev/zero"), 1024).expect_err("endless");
        assert!(matches!(e, ReadError::NotRegular(_)), "{e}");
        assert_eq!(e.to_string(), "not a regular file but a character device");
        assert_eq!(size_text(MAX_INPUT_FILE_BYTES), "64 MiB");
    }

    #[test]
    fn a_large_file_stops_at_the_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("big.txt");
        std::fs::write(&path, vec![b'1'; 2000]).expect("write");
        let e = read_text_capped(&path, 1024).expect_err("too large");
        assert_eq!(
            e.to_string(),
            "larger than the 1024 bytes limit for this file"
        );
        assert_eq!(read_text_capped(&path, 2000).expect("fits").len(), 2000);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        // Before the fix this open blocked forever (no writer ever comes).
        let e = read_text_capped(&path, 1024).expect_err("a FIFO");
        assert_eq!(e.to_string(), "not a regular file but a named pipe (FIFO)");
        let e = read_text_capped(dir.path(), 1024).expect_err("a folder");
        assert_eq!(e.to_string(), "not a regular file but a folder");
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bom.json");
        std::fs::write(&path, "\u{feff}[0.1, 0.2]").expect("write");
        assert_eq!(read_text_capped(&path, 1024).expect("reads"), "[0.1, 0.2]");
        assert_eq!(strip_bom("\u{feff}x"), "x");
        assert_eq!(strip_bom("x"), "x");
    }

    #[test]
    fn an_atomic_write_replaces_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old contents").expect("write");
        write_atomic(&path, "new").expect("writes");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        // Abandoned: the old file stays byte for byte and no temporary file is left.
        let mut file = AtomicFile::create(&path).expect("starts");
        file.write_all(b"half of a ").expect("writes");
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_goes_through_links_and_never_replaces_a_device() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("real.csv");
        let link = dir.path().join("link.csv");
        std::fs::write(&file, "old").expect("write");
        std::os::unix::fs::symlink(&file, &link).expect("link");
        write_atomic(&link, "new").expect("writes");
        assert!(
            link.symlink_metadata()
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "new");
        for (path, kind) in [
            (Path::new("/dev/null"), "a character device"),
            (dir.path(), "a folder"),
        ] {
            let e = write_atomic(path, "x").expect_err("refused");
            assert_eq!(e.to_string(), format!("not a regular file but {kind}"));
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_keeps_the_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("shared.csv");
        std::fs::write(&path, "a").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomic(&path, "b").expect("writes");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let fresh = dir.path().join("fresh.csv");
        write_atomic(&fresh, "c").expect("writes");
        let mode = std::fs::metadata(&fresh)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_ne!(mode & 0o044, 0, "a new file is not private: {mode:o}");
    }
}
