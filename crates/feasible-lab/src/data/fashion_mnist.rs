//! Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000
//! test images of 28x28 grey levels in 10 classes, in IDX files.
//!
//! Installed by `feasible data fetch` (`scripts/fetch-data.sh`) from Debian's
//! `dataset-fashion-mnist` into `/usr/share/datasets/fashion-mnist`; another
//! directory can be given with the environment variable
//! `FEASIBLE_FASHION_MNIST`.

use std::path::{Path, PathBuf};

use super::error::DataError;
use super::idx::read_idx_gz;
use super::locations;

/// Where the IDX files are looked for.
pub fn directory() -> PathBuf {
    locations::fashion_mnist_dir()
}

/// How to install the data, for error messages.
pub const HINT: &str = "run `feasible data fetch` (`cargo run --release -p feasible-lab -- data fetch`, or scripts/fetch-data.sh): it installs Debian's dataset-fashion-mnist; \
                        or set FEASIBLE_FASHION_MNIST to a directory with the IDX files";

/// One split: pixels scaled to `[0, 1]`, row-major `[n, 784]`, and labels.
#[derive(Clone, Debug)]
pub struct Split {
    /// `n · 784` pixels in `[0, 1]`.
    pub pixels: Vec<f32>,
    /// `n` labels in `0..10`.
    pub labels: Vec<u8>,
}

impl Split {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Whether the four files are present.
pub fn available() -> bool {
    locations::all_present(&directory(), &locations::FASHION_MNIST_FILES)
}

fn load(dir: &Path, split: &str) -> Result<Split, DataError> {
    let images_path = dir.join(format!("{split}-images-idx3-ubyte.gz"));
    let labels_path = dir.join(format!("{split}-labels-idx1-ubyte.gz"));
    let images = read_idx_gz(&images_path, HINT)?;
    let labels = read_idx_gz(&labels_path, HINT)?;
    let bad = |path: &Path, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        location: "byte 0".to_string(),
        reason,
    };
    if images.shape.len() != 3 || images.shape[1..] != [28, 28] {
        return Err(bad(
            &images_path,
            format!("shape {:?}, expected [n, 28, 28]", images.shape),
        ));
    }
    if labels.shape != [images.shape[0]] {
        return Err(bad(
            &labels_path,
            format!("shape {:?}, expected [{}]", labels.shape, images.shape[0]),
        ));
    }
    if let Some(l) = labels.data.iter().find(|l| **l > 9) {
        return Err(bad(&labels_path, format!("label {l} outside 0..10")));
    }
    Ok(Split {
        pixels: images.data.iter().map(|p| *p as f32 / 255.0).collect(),
        labels: labels.data,
    })
}

/// The training and test splits.
pub fn load_all() -> Result<(Split, Split), DataError> {
    let dir = directory();
    Ok((load(&dir, "train")?, load(&dir, "t10k")?))
}
