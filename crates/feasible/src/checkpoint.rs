//! Checkpoint files: written atomically, verified on reading.
//!
//! A checkpoint file is one header line followed by the payload:
//!
//! ```text
//! feasible-checkpoint v1 <kind> <payload length> <crc32 of payload, hex>
//! <payload bytes>
//! ```
//!
//! Writing goes to a temporary file in the same directory, which is flushed
//! to disk and then renamed over the target: a crash at any moment leaves
//! either the old file or the new one, never a mix. Reading checks the
//! header, the kind, the length (a truncated file is refused) and the CRC-32
//! (a corrupted one is refused), and names the file and the reason.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{FeasibleError, Result};

const MAGIC: &str = "feasible-checkpoint";
const VERSION: &str = "v1";

/// Writes `payload` to `path` atomically, tagged with `kind` (a word without
/// spaces naming what the payload is).
pub fn write_atomic(path: &Path, kind: &str, payload: &[u8]) -> Result<()> {
    let io = |source| FeasibleError::Io {
        path: path.to_path_buf(),
        source,
    };
    let header = format!(
        "{MAGIC} {VERSION} {kind} {} {:08x}\n",
        payload.len(),
        crc32fast::hash(payload)
    );
    let tmp = temporary_path(path);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(header.as_bytes())?;
        file.write_all(payload)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable; not every platform can open a
            // directory, so a failure here is not an error.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Reads the payload of a checkpoint of `kind` at `path`, verifying it.
pub fn read_verified(path: &Path, kind: &str) -> Result<Vec<u8>> {
    let bytes = fs::read(path).map_err(|source| FeasibleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |reason: String| FeasibleError::CorruptCheckpoint {
        path: path.to_path_buf(),
        reason,
    };
    let newline = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| corrupt("no header line (empty or truncated file)".to_string()))?;
    let header = std::str::from_utf8(&bytes[..newline])
        .map_err(|_| corrupt("the header is not text: not a feasible checkpoint".to_string()))?;
    let fields: Vec<&str> = header.split(' ').collect();
    let [magic, version, file_kind, length, crc] = fields[..] else {
        return Err(corrupt(format!("malformed header `{header}`")));
    };
    if magic != MAGIC {
        return Err(corrupt("not a feasible checkpoint".to_string()));
    }
    if version != VERSION {
        return Err(corrupt(format!(
            "unsupported version {version} (this build reads {VERSION})"
        )));
    }
    if file_kind != kind {
        return Err(corrupt(format!("it holds a `{file_kind}`, expected a `{kind}`")));
    }
    let length: usize = length
        .parse()
        .map_err(|_| corrupt(format!("malformed length `{length}`")))?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| corrupt(format!("malformed checksum `{crc}`")))?;
    let payload = &bytes[newline + 1..];
    if payload.len() != length {
        return Err(corrupt(format!(
            "the payload has {} bytes, the header says {length} (truncated or extended)",
            payload.len()
        )));
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(corrupt(format!(
            "checksum mismatch (header {crc:08x}, payload {actual:08x}): the file is corrupted"
        )));
    }
    Ok(payload.to_vec())
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        write_atomic(&path, "dual_state", b"{\"a\": 1}").unwrap();
        assert_eq!(read_verified(&path, "dual_state").unwrap(), b"{\"a\": 1}");

        let wrong_kind = read_verified(&path, "model").unwrap_err().to_string();
        assert!(wrong_kind.contains("expected a `model`"), "{wrong_kind}");

        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..full.len() - 2]).unwrap();
        let truncated = read_verified(&path, "dual_state").unwrap_err().to_string();
        assert!(truncated.contains("truncated"), "{truncated}");
        assert!(truncated.contains("state.ckpt"), "{truncated}");

        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 0x01;
        fs::write(&path, &flipped).unwrap();
        let corrupted = read_verified(&path, "dual_state").unwrap_err().to_string();
        assert!(corrupted.contains("checksum mismatch"), "{corrupted}");

        fs::write(&path, b"").unwrap();
        assert!(
            read_verified(&path, "dual_state")
                .unwrap_err()
                .to_string()
                .contains("no header")
        );
        fs::write(&path, b"hello world\n").unwrap();
        assert!(
            read_verified(&path, "dual_state")
                .unwrap_err()
                .to_string()
                .contains("malformed header")
        );
    }

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        write_atomic(&path, "dual_state", b"first").unwrap();
        // A directory in the way of the temporary file makes the write fail.
        fs::create_dir(temporary_path(&path)).unwrap();
        assert!(write_atomic(&path, "dual_state", b"second").is_err());
        assert_eq!(read_verified(&path, "dual_state").unwrap(), b"first");
    }
}
