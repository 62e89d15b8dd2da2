//! Checkpoint files: written atomically, verified on reading.
//!
//! A checkpoint file is one header line followed by the payload:
//!
//! ```text
//! feasible-checkpoint v1 <kind> <payload length> <crc32 of payload, hex>
//! <payload bytes>
//! ```
//!
//! Writing goes to a temporary file in the same directory, named
//! `.<file name>.tmp-<process id>-<counter>` (unique to the process and the
//! call, so that threads and processes saving to one path concurrently do
//! not collide), which is flushed to disk and then renamed over the target;
//! the directory is then flushed too. A crash at any moment leaves either
//! the old file or the new one, never a mix. A failed save removes its
//! temporary file; a successful one removes the temporaries of the same
//! target left by processes that no longer run (a crash, a kill). On Linux
//! a process runs if `/proc/<id>` exists; elsewhere, and where `/proc` is
//! not mounted, leftovers are kept. (A process in another PID namespace
//! saving to the same path at the same moment cannot be seen in `/proc`;
//! do not share one checkpoint path between containers.)
//!
//! Reading checks the header, the kind, the length (a truncated file is
//! refused) and the CRC-32 (a corrupted one is refused), and names the file
//! and the reason.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{FeasibleError, Result};

const MAGIC: &str = "feasible-checkpoint";
const VERSION: &str = "v1";
/// What follows the target's name in a temporary file's name.
const TEMPORARY_TAG: &str = ".tmp-";

/// Makes the temporary names of one process unique across threads and calls.
static TEMPORARY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `payload` to `path` atomically, tagged with `kind` (a word without
/// spaces naming what the payload is).
///
/// Safe to call from several threads or processes on one path at once: each
/// save is atomic and the file ends up holding one of the payloads. On
/// failure the file at `path` is as it was and no temporary file is left.
pub fn write_atomic(path: &Path, kind: &str, payload: &[u8]) -> Result<()> {
    check_kind(kind)?;
    let name = file_name(path)?;
    let counter = TEMPORARY_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = temporary_path(path, name, std::process::id(), counter);
    write_through(path, &tmp, kind, payload)?;
    sync_directory(path);
    remove_stale_temporaries(path, name);
    Ok(())
}

/// The save itself, through the temporary file `tmp`: removes `tmp` on
/// failure if it created it, and never touches a file it did not create.
fn write_through(path: &Path, tmp: &Path, kind: &str, payload: &[u8]) -> Result<()> {
    let io = |source| FeasibleError::Io {
        path: path.to_path_buf(),
        source,
    };
    let header = format!(
        "{MAGIC} {VERSION} {kind} {} {:08x}\n",
        payload.len(),
        crc32fast::hash(payload)
    );
    // `create_new`: a file already there (which cannot be a temporary of
    // this call) is not ours to overwrite or remove.
    let file = OpenOptions::new().write(true).create_new(true).open(tmp).map_err(io)?;
    let result = (move || {
        let mut file = file;
        file.write_all(header.as_bytes())?;
        file.write_all(payload)?;
        // The data must be on disk before the rename makes it the target.
        file.sync_all()?;
        drop(file);
        fs::rename(tmp, path)
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(tmp);
        io(source)
    })
}

/// Reads the payload of a checkpoint of `kind` at `path`, verifying it.
///
/// A missing or unreadable file fails with [`FeasibleError::Io`]; an empty,
/// truncated, corrupted or foreign file, or one of another kind or version,
/// with [`FeasibleError::CorruptCheckpoint`]; both name the file.
pub fn read_verified(path: &Path, kind: &str) -> Result<Vec<u8>> {
    check_kind(kind)?;
    let bytes = fs::read(path).map_err(|source| FeasibleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |reason: String| FeasibleError::CorruptCheckpoint {
        path: path.to_path_buf(),
        reason,
    };
    let newline = bytes.iter().position(|b| *b == b'\n').ok_or_else(|| {
        corrupt(if bytes.is_empty() {
            "no header line: the file is empty".to_string()
        } else if bytes.starts_with(MAGIC.as_bytes()) || MAGIC.as_bytes().starts_with(&bytes) {
            "no header line: the header is cut short (truncated file)".to_string()
        } else {
            "no header line: not a feasible checkpoint".to_string()
        })
    })?;
    let header = std::str::from_utf8(&bytes[..newline])
        .map_err(|_| corrupt("the header is not text: not a feasible checkpoint".to_string()))?;
    let fields: Vec<&str> = header.split(' ').collect();
    let [magic, version, file_kind, length, crc] = fields[..] else {
        return Err(corrupt(format!("malformed header `{}`", header.escape_debug())));
    };
    if magic != MAGIC {
        return Err(corrupt("not a feasible checkpoint".to_string()));
    }
    if version != VERSION {
        return Err(corrupt(format!(
            "unsupported version {} (this build reads {VERSION})",
            version.escape_debug()
        )));
    }
    if file_kind != kind {
        return Err(corrupt(format!(
            "it holds a `{}`, expected a `{kind}`",
            file_kind.escape_debug()
        )));
    }
    let length: usize = length
        .parse()
        .map_err(|_| corrupt(format!("malformed length `{}`", length.escape_debug())))?;
    let crc =
        u32::from_str_radix(crc, 16).map_err(|_| corrupt(format!("malformed checksum `{}`", crc.escape_debug())))?;
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

/// A kind must be one non-empty word: it is a field of the header line.
fn check_kind(kind: &str) -> Result<()> {
    if kind.is_empty() || kind.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(FeasibleError::InvalidCheckpointKind { kind: kind.to_string() })
    } else {
        Ok(())
    }
}

fn file_name(path: &Path) -> Result<&OsStr> {
    path.file_name().ok_or_else(|| FeasibleError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
    })
}

/// `.<name>.tmp-<pid>-<counter>`, next to `path`.
fn temporary_path(path: &Path, name: &OsStr, pid: u32, counter: u64) -> PathBuf {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!("{TEMPORARY_TAG}{pid}-{counter}"));
    path.with_file_name(tmp)
}

/// The process id in the name of a temporary file of the target `name`:
/// `.<name>.tmp-<pid>-<counter>`, or `<name>.tmp-<pid>` as earlier versions
/// named them. `None` for any other file.
fn temporary_pid(name: &OsStr, candidate: &OsStr) -> Option<u64> {
    let (name, candidate) = (name.as_encoded_bytes(), candidate.as_encoded_bytes());
    let digits = |s: &[u8]| -> Option<u64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    fn after_name<'a>(rest: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
        rest.strip_prefix(name)?.strip_prefix(TEMPORARY_TAG.as_bytes())
    }
    if let Some(rest) = candidate.strip_prefix(b".").and_then(|rest| after_name(rest, name)) {
        let dash = rest.iter().position(|b| *b == b'-')?;
        digits(&rest[dash + 1..])?;
        return digits(&rest[..dash]);
    }
    digits(after_name(candidate, name)?)
}

/// The directory `path` is in (`.` for a bare file name).
fn directory(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes the rename durable; not every platform can open or flush a
/// directory, so a failure here is not an error.
fn sync_directory(path: &Path) {
    if let Ok(dir) = File::open(directory(path)) {
        let _ = dir.sync_all();
    }
}

/// Removes the temporaries of the target `name` whose process is not
/// running (never this process's own, never a running one's). Best effort:
/// errors are ignored.
#[cfg(target_os = "linux")]
fn remove_stale_temporaries(path: &Path, name: &OsStr) {
    // Without /proc there is no telling which processes run.
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(directory(path)) else {
        return;
    };
    let own = u64::from(std::process::id());
    for entry in entries.flatten() {
        let Some(pid) = temporary_pid(name, &entry.file_name()) else {
            continue;
        };
        if pid == own || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Elsewhere there is no cheap way to tell that a process has ended:
/// leftovers are kept.
#[cfg(not(target_os = "linux"))]
fn remove_stale_temporaries(_path: &Path, _name: &OsStr) {}

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

    /// The names in `dir` that are temporaries of the target `name`.
    fn temporaries(dir: &Path, name: &str) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| temporary_pid(OsStr::new(name), n).is_some())
            .map(|n| n.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        write_atomic(&path, "dual_state", b"first").unwrap();
        // A directory in the way of the temporary file makes the write fail;
        // it is not the save's to remove.
        let obstacle = temporary_path(&path, OsStr::new("state.ckpt"), std::process::id(), u64::MAX);
        fs::create_dir(&obstacle).unwrap();
        let e = write_through(&path, &obstacle, "dual_state", b"second").unwrap_err();
        assert!(matches!(&e, FeasibleError::Io { path: p, .. } if *p == path), "{e}");
        assert_eq!(read_verified(&path, "dual_state").unwrap(), b"first");
        assert!(obstacle.is_dir());
        fs::remove_dir(&obstacle).unwrap();
        assert!(temporaries(dir.path(), "state.ckpt").is_empty());
    }

    #[test]
    fn a_failed_rename_removes_the_written_temporary() {
        // The target is a directory: the temporary is written, the rename
        // over the directory fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        fs::create_dir(&path).unwrap();
        let e = write_atomic(&path, "dual_state", b"payload").unwrap_err();
        assert!(e.to_string().contains("state.ckpt"), "{e}");
        assert!(path.is_dir());
        assert!(temporaries(dir.path(), "state.ckpt").is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_save_into_a_missing_directory_fails_naming_the_file_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("state.ckpt");
        let e = write_atomic(&path, "dual_state", b"payload").unwrap_err();
        assert!(matches!(&e, FeasibleError::Io { path: p, .. } if *p == path), "{e}");
        assert!(e.to_string().contains("state.ckpt"), "{e}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_path_without_a_file_name_or_a_bad_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(&dir.path().join(".."), "dual_state", b"x").unwrap_err();
        assert!(matches!(e, FeasibleError::Io { .. }), "{e}");
        let path = dir.path().join("state.ckpt");
        for kind in ["", "dual state", "dual\nstate", "tab\t"] {
            let e = write_atomic(&path, kind, b"x").unwrap_err();
            assert!(
                matches!(&e, FeasibleError::InvalidCheckpointKind { kind: k } if k == kind),
                "{e}"
            );
            assert!(matches!(
                read_verified(&path, kind),
                Err(FeasibleError::InvalidCheckpointKind { .. })
            ));
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn temporary_names_are_unique_and_recognised() {
        let name = OsStr::new("state.ckpt");
        let path = Path::new("/some/dir/state.ckpt");
        let a = temporary_path(path, name, 42, 0);
        let b = temporary_path(path, name, 42, 1);
        assert_ne!(a, b);
        assert_eq!(a, Path::new("/some/dir/.state.ckpt.tmp-42-0"));
        assert_eq!(temporary_pid(name, a.file_name().unwrap()), Some(42));
        assert_eq!(temporary_pid(name, OsStr::new("state.ckpt.tmp-7")), Some(7));
        for other in [
            "state.ckpt",
            ".state.ckpt.tmp-",
            ".state.ckpt.tmp-42",
            ".state.ckpt.tmp-42-",
            ".state.ckpt.tmp-x-1",
            ".state.ckpt.tmp-42-1-2",
            ".other.ckpt.tmp-42-0",
            "xstate.ckpt.tmp-42",
            "state.ckpt.tmp-42-0",
            ".state.ckpt.tmp-+4-0",
        ] {
            assert_eq!(temporary_pid(name, OsStr::new(other)), None, "{other}");
        }
        assert_eq!(directory(Path::new("state.ckpt")), Path::new("."));
    }

    #[test]
    fn concurrent_saves_to_one_path_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        let payloads: Vec<Vec<u8>> = (0..8)
            .map(|t| format!("payload of thread {t}").repeat(t + 1).into_bytes())
            .collect();
        std::thread::scope(|scope| {
            for payload in &payloads {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..50 {
                        write_atomic(path, "dual_state", payload).unwrap();
                    }
                });
            }
        });
        let last = read_verified(&path, "dual_state").unwrap();
        assert!(payloads.contains(&last));
        assert!(temporaries(dir.path(), "state.ckpt").is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_save_removes_the_temporaries_of_dead_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        // Above any pid_max Linux allows (2^22): no such process runs.
        let dead = [".state.ckpt.tmp-999999999-0", "state.ckpt.tmp-999999999"];
        let own = format!(".state.ckpt.tmp-{}-{}", std::process::id(), u64::MAX);
        let mut kept = vec![
            own.as_str(),
            ".other.ckpt.tmp-999999999-0",
            "state.ckpt.tmp-999999999.bak",
            "notes.txt",
        ];
        // A running process (init, or whoever is pid 1 here).
        if Path::new("/proc/1").exists() {
            kept.push(".state.ckpt.tmp-1-0");
        }
        for name in dead.iter().chain(&kept) {
            fs::write(dir.path().join(name), b"half a checkpoint").unwrap();
        }
        // A failed save does not clean up.
        fs::create_dir(&path).unwrap();
        assert!(write_atomic(&path, "dual_state", b"payload").is_err());
        fs::remove_dir(&path).unwrap();
        for name in dead.iter().chain(&kept) {
            assert!(dir.path().join(name).exists(), "{name}");
        }
        write_atomic(&path, "dual_state", b"payload").unwrap();
        for name in dead {
            assert!(!dir.path().join(name).exists(), "{name} was left");
        }
        for name in &kept {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
        assert_eq!(read_verified(&path, "dual_state").unwrap(), b"payload");
    }

    #[test]
    fn foreign_and_damaged_files_are_refused_naming_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        let reason = |bytes: &[u8]| -> String {
            fs::write(&path, bytes).unwrap();
            let e = read_verified(&path, "dual_state").unwrap_err();
            assert!(
                matches!(&e, FeasibleError::CorruptCheckpoint { path: p, .. } if *p == path),
                "{e}"
            );
            let text = e.to_string();
            assert!(text.contains("state.ckpt"), "{text}");
            text
        };
        assert!(reason(b"").contains("the file is empty"));
        assert!(reason(b"feasible-checkp").contains("truncated"));
        assert!(reason(b"feasible-checkpoint v1 dual_st").contains("truncated"));
        assert!(reason(b"\x89PNG\r\x1a\x00binary").contains("not a feasible checkpoint"));
        assert!(reason(b"\xff\xfe\n").contains("not text"));
        assert!(reason(b"{\"a\": 1}\n").contains("malformed header"));
        assert!(reason(b"other-format v1 dual_state 0 00000000\n").contains("not a feasible checkpoint"));
        assert!(reason(b"feasible-checkpoint v9 dual_state 0 00000000\n").contains("unsupported version v9"));
        assert!(reason(b"feasible-checkpoint v1 dual_state -1 00000000\n").contains("malformed length"));
        assert!(reason(b"feasible-checkpoint v1 dual_state 0 zz\n").contains("malformed checksum"));
        assert!(reason(b"feasible-checkpoint v1 dual_state 5 00000000\nab").contains("truncated"));
        // A header cut right after its newline: no payload at all.
        write_atomic(&path, "dual_state", b"payload").unwrap();
        let full = fs::read(&path).unwrap();
        let header_end = full.iter().position(|b| *b == b'\n').unwrap() + 1;
        assert!(reason(&full[..header_end]).contains("the payload has 0 bytes"));
        // An empty payload is a valid checkpoint.
        write_atomic(&path, "dual_state", b"").unwrap();
        assert_eq!(read_verified(&path, "dual_state").unwrap(), b"");

        // Missing, or not a file: an I/O error naming the path.
        let missing = dir.path().join("missing.ckpt");
        let e = read_verified(&missing, "dual_state").unwrap_err();
        assert!(matches!(&e, FeasibleError::Io { path: p, .. } if *p == missing), "{e}");
        let e = read_verified(dir.path(), "dual_state").unwrap_err();
        assert!(matches!(e, FeasibleError::Io { .. }), "{e}");
    }
}
