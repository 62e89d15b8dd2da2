//! Data sets: generated from a seed, shipped in the repository, or read from
//! files installed through the package registries (`scripts/fetch-data.sh`).

pub mod adult;
pub mod classification;
pub mod compas;
pub mod csv;
pub mod error;
pub mod fashion_mnist;
pub mod gaussian_mixture;
pub mod german;
pub mod idx;
pub mod image;
pub mod iris;
pub mod sampling;
pub mod tabular;
pub mod two_moons;

pub use error::DataError;
