//! The IDX format of MNIST and Fashion-MNIST (LeCun et al.), gzip-compressed.
//!
//! A big-endian header: two zero bytes, a type byte (`0x08`: unsigned
//! bytes), the number of dimensions `d`, then `d` 32-bit sizes, then the
//! data, row-major.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::error::DataError;

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The sizes of its dimensions.
    pub shape: Vec<usize>,
    /// The data, row-major.
    pub data: Vec<u8>,
}

/// Reads a gzip-compressed IDX file of unsigned bytes.
pub fn read_idx_gz(path: &Path, hint: &str) -> Result<IdxArray, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e, hint))?;
    let mut bytes = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Malformed {
            path: path.to_path_buf(),
            location: "byte 0".to_string(),
            reason: format!("not a readable gzip stream: {e}"),
        })?;
    parse_idx(path, &bytes)
}

/// Parses the (decompressed) bytes of an IDX file.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    let malformed = |at: usize, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        location: format!("byte {at}"),
        reason,
    };
    let [zero1, zero2, kind, dims] = bytes
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or_else(|| malformed(0, format!("{} bytes, too short for an IDX header", bytes.len())))?;
    if zero1 != 0 || zero2 != 0 {
        return Err(malformed(
            0,
            "not an IDX file (the magic number must start with two zero bytes)".into(),
        ));
    }
    if kind != 0x08 {
        return Err(malformed(
            2,
            format!("element type 0x{kind:02x}, only unsigned bytes (0x08) are read"),
        ));
    }
    let dims = usize::from(dims);
    let header = 4 + 4 * dims;
    let sizes = bytes
        .get(4..header)
        .ok_or_else(|| malformed(4, format!("truncated header: {dims} dimensions announced")))?;
    let shape: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected: usize = shape.iter().product();
    let data = &bytes[header..];
    if data.len() != expected {
        return Err(malformed(
            header,
            format!(
                "shape {shape:?} needs {expected} bytes of data, the file has {}",
                data.len()
            ),
        ));
    }
    Ok(IdxArray {
        shape,
        data: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_a_small_array_and_names_what_is_wrong() {
        let dir = std::env::temp_dir().join(format!("feasible-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.idx.gz");
        let mut good = vec![0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3];
        good.extend([1, 2, 3, 4, 5, 6]);
        std::fs::write(&path, gz(&good)).unwrap();
        let a = read_idx_gz(&path, "").unwrap();
        assert_eq!((a.shape, a.data), (vec![2, 3], vec![1, 2, 3, 4, 5, 6]));

        std::fs::write(&path, gz(&good[..good.len() - 1])).unwrap();
        let e = read_idx_gz(&path, "").unwrap_err().to_string();
        assert!(e.contains("t.idx.gz:byte 12") && e.contains("needs 6 bytes"), "{e}");
        std::fs::write(&path, gz(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0])).unwrap();
        assert!(
            read_idx_gz(&path, "")
                .unwrap_err()
                .to_string()
                .contains("element type 0x0d")
        );
        std::fs::write(&path, b"plain text").unwrap();
        assert!(
            read_idx_gz(&path, "")
                .unwrap_err()
                .to_string()
                .contains("not a readable gzip stream")
        );
        let missing = read_idx_gz(&dir.join("nope.gz"), "run scripts/fetch-data.sh")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("nope.gz: no such file; run scripts/fetch-data.sh"),
            "{missing}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
