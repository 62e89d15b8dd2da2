//! The training configuration file (TOML), as written: every table refuses
//! unknown keys, and every value that is checked keeps its place in the
//! file, so that an error names the key and its line. The format is
//! documented in `docs/train-config.md`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// A mistake in the configuration: the file, the line and column, the key
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {key}{message}")]
pub struct ConfigError {
    /// The configuration file.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
    /// The key (`training.epochs`), or empty when toml names it in the
    /// message.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// The text of a configuration file, to turn places into lines.
#[derive(Clone, Debug)]
pub struct Source {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

impl Source {
    /// The line and column (from 1) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
        (line, column)
    }

    /// An error about `key`, whose value is at `span`.
    pub fn error(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> ConfigError {
        let (line, column) = self.line_column(span.start);
        ConfigError {
            file: self.path.display().to_string(),
            line,
            column,
            key: if key.is_empty() {
                String::new()
            } else {
                format!("`{key}`: ")
            },
            message: message.into(),
        }
    }

    /// The directory relative paths are resolved in.
    pub fn directory(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// A value and where it is in the file.
pub type At<T> = Spanned<T>;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[data]`.
    pub data: DataConfig,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[[constraints]]`.
    #[serde(default)]
    pub constraints: Vec<At<ConstraintConfig>>,
    /// `[training]`.
    pub training: TrainingConfig,
}

/// `[data]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `csv` or `idx`.
    pub format: At<String>,
    /// CSV: the training file.
    pub train: Option<At<String>>,
    /// CSV: the validation file.
    pub validation: Option<At<String>>,
    /// CSV: the test file.
    pub test: Option<At<String>>,
    /// IDX: training images.
    pub train_images: Option<At<String>>,
    /// IDX: training labels.
    pub train_labels: Option<At<String>>,
    /// IDX: test images.
    pub test_images: Option<At<String>>,
    /// IDX: test labels.
    pub test_labels: Option<At<String>>,
    /// The fraction of the training file held out for validation.
    pub validation_fraction: Option<At<f64>>,
    /// The fraction of the training file held out for testing.
    pub test_fraction: Option<At<f64>>,
    /// CSV: whether the first record names the columns (default true).
    pub header: Option<At<bool>>,
    /// CSV without a header: the columns' names.
    pub columns: Option<At<Vec<String>>>,
    /// CSV: lines starting with this character are skipped.
    pub comment: Option<At<String>>,
    /// CSV: the label column.
    pub label: Option<At<String>>,
    /// CSV: the label values that are the positive class.
    pub positive: Option<At<Vec<String>>>,
    /// CSV: numeric feature columns (standardised).
    pub numeric: Option<At<Vec<String>>>,
    /// CSV: categorical feature columns (one-hot encoded).
    pub categorical: Option<At<Vec<String>>>,
    /// CSV: the columns that define groups.
    pub groups: Option<At<Vec<String>>>,
    /// Keep only the first rows of every file (a quick run).
    pub max_rows: Option<At<i64>>,
}

/// `[model]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `linear` or `mlp`.
    pub kind: At<String>,
    /// The hidden layers' widths (mlp).
    pub hidden: Option<At<Vec<i64>>>,
    /// L0 gates on every layer's inputs.
    pub gates: Option<At<bool>>,
    /// The gates' parameter scale.
    pub gate_scale: Option<At<f64>>,
}

/// One `[[constraints]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintConfig {
    /// `rate`, `demographic_parity`, `equal_opportunity`,
    /// `equalized_odds`, `density`, `sample_loss`.
    pub kind: At<String>,
    /// The constraint's name (rates).
    pub name: Option<At<String>>,
    /// The rate (rates).
    pub rate: Option<At<String>>,
    /// The group, `column=value` (rates; all samples when absent).
    pub group: Option<At<String>>,
    /// The groups (fairness criteria).
    pub groups: Option<At<Vec<String>>>,
    /// `>=`, `<=` or `==` (rates).
    pub sense: Option<At<String>>,
    /// The target (rates, density).
    pub target: Option<At<f64>>,
    /// The tolerance (fairness criteria; `==` rates in the audit).
    pub tolerance: Option<At<f64>>,
    /// The bound on every sample's loss (sample_loss).
    pub bound: Option<At<f64>>,
}

/// `[training]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// `cross_entropy`.
    pub objective: Option<At<String>>,
    /// `lagrangian`, `augmented_lagrangian`, `quadratic_penalty`, `fixed_penalty`,
    /// `proxy_lagrangian`.
    pub formulation: Option<At<String>>,
    /// The penalty coefficient of the penalty formulations.
    pub penalty: Option<At<f64>>,
    /// Restart a multiplier at zero when its constraint holds (lagrangian).
    pub restart_on_feasible: Option<At<bool>>,
    /// `gradient_ascent`, `nupi`, `adam`, `optimistic`.
    pub dual_optimizer: Option<At<String>>,
    /// The dual optimizer's step.
    pub dual_lr: Option<At<f64>>,
    /// The update scheme.
    pub scheme: Option<At<String>>,
    /// `adam`, `adamw`, `sgd`.
    pub primal_optimizer: Option<At<String>>,
    /// The primal step.
    pub lr: Option<At<f64>>,
    /// Passes over the training set.
    pub epochs: At<i64>,
    /// Samples per step.
    pub batch_size: At<i64>,
    /// Seed of the initialisation, the split, the batches and the gates.
    pub seed: Option<At<i64>>,
    /// `flex`.
    pub device: Option<At<String>>,
    /// `hinge` or `sigmoid`: the rates' surrogate.
    pub surrogate: Option<At<String>>,
    /// The audit's confidence level.
    pub confidence: Option<At<f64>>,
}

/// Parses the text of a configuration file; a syntax error, an unknown key,
/// a missing key or a value of the wrong type names the key and the line.
pub fn parse(source: &Source) -> Result<Config, ConfigError> {
    toml::from_str(&source.text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        source.error(span, "", e.message().trim().to_string())
    })
}

/// Reads and parses a configuration file.
pub fn read(path: &Path) -> anyhow::Result<(Source, Config)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading the configuration {}: {e}", path.display()))?;
    let source = Source {
        path: path.to_path_buf(),
        text,
    };
    let config = parse(&source)?;
    Ok((source, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            path: PathBuf::from("run.toml"),
            text: text.to_string(),
        }
    }

    const MINIMAL: &str =
        "[data]\nformat = \"csv\"\n[model]\nkind = \"linear\"\n[training]\nepochs = 1\nbatch_size = 2\n";

    #[test]
    fn lines_and_columns_count_from_one() {
        let s = source("ab\ncd\n");
        assert_eq!(s.line_column(0), (1, 1));
        assert_eq!(s.line_column(4), (2, 2));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        assert!(parse(&source(MINIMAL)).is_ok());
        let text = MINIMAL.replace("epochs = 1", "epochs = 1\nbach_size = 3");
        let e = parse(&source(&text)).unwrap_err();
        assert_eq!(e.line, 7, "{e}");
        assert!(e.to_string().contains("bach_size"), "{e}");
        assert!(e.to_string().starts_with("run.toml:7:"), "{e}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_with_its_line() {
        let text = MINIMAL.replace("epochs = 1", "epochs = \"many\"");
        let e = parse(&source(&text)).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
    }
}
