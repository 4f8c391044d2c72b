//! Atomic file writes (python-api.md §11.1): a temporary file in the target's
//! directory, flushed and fsynced, renamed over the target, then the directory
//! fsynced. A failure at any point removes the temporary file and leaves the
//! previous target as it was; no partial file ever appears under the target name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary files of one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary path beside `target`: `.{name}.{pid}.{n}.tmp`.
fn temp_path(target: &Path) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a file path", target.display()),
        )
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = format!(".{}.{}.{n}.tmp", name.to_string_lossy(), std::process::id());
    Ok(target.with_file_name(temp))
}

/// Writes `target` atomically with what `write` puts into the buffered writer
/// it is given. The file gets the permissions a plain create would (umask
/// respected). Returns `write`'s error, or the I/O error that stopped the write,
/// with the temporary file removed.
pub fn write_atomic<T>(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> io::Result<T> {
    let temp = temp_path(target)?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    let result = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let out = write(&mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, target)?;
        Ok(out)
    })();
    match result {
        Ok(out) => {
            sync_dir(target);
            Ok(out)
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Fsyncs the directory holding `path`, so the rename itself is durable (where
/// the platform allows opening a directory; elsewhere a no-op).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dictdb-atomic-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_and_replaces() {
        let dir = scratch("replace");
        let target = dir.join("db.json");
        write_atomic(&target, |w| w.write_all(b"one")).unwrap();
        write_atomic(&target, |w| w.write_all(b"two")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert!(leftovers(&dir).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = scratch("fail");
        let target = dir.join("db.json");
        fs::write(&target, b"old").unwrap();
        let err = write_atomic(&target, |w| {
            w.write_all(b"half")?;
            Err::<(), _>(io::Error::other("serialiser failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "serialiser failed");
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert!(leftovers(&dir).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_in_the_way_is_an_error() {
        let dir = scratch("dir");
        let target = dir.join("taken");
        fs::create_dir(&target).unwrap();
        assert!(write_atomic(&target, |w| w.write_all(b"x")).is_err());
        assert!(leftovers(&dir).is_empty());
        assert!(target.is_dir());
        fs::remove_dir_all(dir).unwrap();
    }
}
