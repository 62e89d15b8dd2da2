//! Decides, with the run-time rules of `src/data/locations.rs`, which data
//! sets are present, and tells the compiler (`has_fashion_mnist`,
//! `has_adult`, `has_compas`, `has_astronaut`, `has_chelsea`,
//! `has_coffee`): a test that needs an absent data set is then ignored, and
//! says so in cargo's summary.
//!
//! Cargo re-runs this script when one of the environment variables that
//! move the data changes, when anything in the data directory changes
//! (`feasible data fetch` and `scripts/fetch-data.sh` write into it, even
//! when the data sets themselves land elsewhere), or when a data set's own
//! directory changes. In the test profile (`debug`), a directory that does
//! not exist yet is watched as a missing path, which makes cargo re-run the
//! script (and rebuild this package) on every build until it appears: never
//! a stale answer. A `release` build does not pay that: there, only the data
//! directory (where the fetchers leave a stamp, `.fetch-stamp`) and the
//! directories that exist are watched.

#[allow(dead_code)]
mod locations {
    include!("src/data/locations.rs");
}

use std::path::{Path, PathBuf};

fn watch(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/data/locations.rs");
    for var in locations::ENV_VARS {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    // Tests run with the package's directory as the current directory.
    let (data_dir, _) = locations::locate_data_dir(Some(&manifest), None);
    let downloads = locations::downloads_in(&data_dir);
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if data_dir.exists() || !release {
        watch(&data_dir);
    }
    if !downloads.starts_with(&data_dir) && (downloads.exists() || !release) {
        watch(&downloads);
    }
    let images = locations::images_in(&downloads);
    let sets: [(&str, PathBuf, &[&str]); 6] = [
        (
            "has_fashion_mnist",
            locations::fashion_mnist_dir(),
            &locations::FASHION_MNIST_FILES,
        ),
        (
            "has_adult",
            locations::adult_dir_in(&downloads),
            &locations::ADULT_FILES,
        ),
        (
            "has_compas",
            locations::compas_dir_in(&downloads),
            &locations::COMPAS_FILES,
        ),
        ("has_astronaut", images.clone(), &["astronaut.png"]),
        ("has_chelsea", images.clone(), &["chelsea.png"]),
        ("has_coffee", images, &["coffee.png"]),
    ];
    for (cfg, dir, files) in sets {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        // Inside the data directory, it is watched already; elsewhere
        // (Fashion-MNIST's system directory, an override), the directory
        // itself, present or not.
        if !dir.starts_with(&data_dir) && !dir.starts_with(&downloads) && (dir.exists() || !release) {
            watch(&dir);
        }
        if locations::all_present(&dir, files) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
