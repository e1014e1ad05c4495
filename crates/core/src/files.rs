//! Reading a file someone named on the command line: only a regular file (a FIFO, a device or a
//! pipe would block or never end), and never more than a stated number of bytes, whatever
//! length the file system reports. Native only.

use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file (a directory, a pipe or a device)")]
    NotAFile,
    #[error("larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
}

/// The bytes of the regular file at `path`, if it holds at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(FileError::NotAFile);
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_only_and_never_past_the_limit() {
        let dir = std::env::temp_dir().join(format!("digits-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f.bin");
        std::fs::write(&file, [7u8; 100]).unwrap();
        assert_eq!(read_regular(&file, 100).unwrap().len(), 100);
        assert!(matches!(
            read_regular(&file, 99),
            Err(FileError::TooLarge { limit: 99 })
        ));
        assert!(matches!(
            read_regular(&dir, 1 << 20),
            Err(FileError::NotAFile)
        ));
        assert!(matches!(
            read_regular(&dir.join("missing"), 10),
            Err(FileError::Io(_))
        ));
        #[cfg(unix)]
        {
            // A device that never ends, read as a file: refused at once.
            let zero = Path::new("/dev/zero");
            if zero.exists() {
                assert!(matches!(read_regular(zero, 10), Err(FileError::NotAFile)));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
