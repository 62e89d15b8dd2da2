//! What can go wrong reading a data set.

use std::path::PathBuf;

/// A data file that is missing, unreadable or malformed, with where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    #[error("{}: no such file{hint}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// How to get it, if known (starts with "; ").
        hint: String,
    },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file's content is not what the format says.
    #[error("{}:{location}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where: `line N` for text, `byte N` for binary files.
        location: String,
        /// What is wrong.
        reason: String,
    },
}

impl DataError {
    /// A missing file, or another I/O error, for `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error, hint: &str) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                path: path.to_path_buf(),
                hint: if hint.is_empty() {
                    String::new()
                } else {
                    format!("; {hint}")
                },
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}
