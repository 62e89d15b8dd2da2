//! The data of a run: CSV (numeric columns standardised with the training
//! split's mean and deviation, categorical ones one-hot encoded with the
//! training split's categories) or IDX images (pixels / 255), split into
//! train, validation and test.

use std::collections::BTreeSet;

use anyhow::Context;

use super::config::{ConfigError, Source};
use super::plan::{Columns, DataPlan, FileRef, Files};
use crate::data::sampling::{Draw, SplitMix64};

/// The group column of IDX data: the label.
pub const IDX_GROUP_COLUMN: &str = "label";

/// One split's samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// `train`, `validation` or `test`.
    pub name: &'static str,
    /// Features, row-major.
    pub x: Vec<f32>,
    /// Labels in `0..classes`.
    pub labels: Vec<usize>,
    /// Per group column, every row's value.
    pub groups: Vec<Vec<String>>,
}

impl Split {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Which samples are in the group `column=value` (all for `None`).
    pub fn mask(&self, column: usize, value: &str) -> Vec<bool> {
        self.groups[column].iter().map(|v| v == value).collect()
    }

    /// The labels as booleans (`label == 1`).
    pub fn binary_labels(&self) -> Vec<bool> {
        self.labels.iter().map(|y| *y == 1).collect()
    }
}

/// The data of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainData {
    /// Features per sample.
    pub dims: usize,
    /// Classes (2 for CSV data: the positive class is 1).
    pub classes: usize,
    /// The group columns' names.
    pub group_columns: Vec<String>,
    /// Train first, then validation and test where there are.
    pub splits: Vec<Split>,
}

impl TrainData {
    /// The training split.
    pub fn train(&self) -> &Split {
        &self.splits[0]
    }
}

/// What went wrong loading the data: the configuration, or the files.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A key of the configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Reading or parsing a file.
    #[error(transparent)]
    Data(#[from] anyhow::Error),
}

/// Loads the data the plan describes.
pub fn load(plan: &DataPlan, source: &Source, seed: u64) -> Result<TrainData, LoadError> {
    match &plan.files {
        Files::Csv {
            train,
            validation,
            test,
        } => load_csv(plan, source, seed, train, validation.as_ref(), test.as_ref()),
        Files::Idx { train, test } => load_idx(plan, seed, train, test.as_ref()),
    }
}

/// Shuffles `0..n` with `seed` and cuts off the test then the validation
/// fraction: `(train, validation, test)` indices.
fn cut(n: usize, validation: f64, test: f64, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut ids: Vec<usize> = (0..n).collect();
    if validation > 0.0 || test > 0.0 {
        SplitMix64::new(seed ^ 0x5b11_7000).shuffle(&mut ids);
    }
    let n_test = (test * n as f64).round() as usize;
    let n_val = (validation * n as f64).round() as usize;
    let test_ids = ids[..n_test].to_vec();
    let val_ids = ids[n_test..n_test + n_val].to_vec();
    (ids[n_test + n_val..].to_vec(), val_ids, test_ids)
}

/// A CSV file's records, with their line numbers.
struct Records {
    names: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
    file: String,
}

fn read_csv(plan: &DataPlan, file: &FileRef) -> anyhow::Result<Records> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(plan.header)
        .trim(csv::Trim::All)
        .comment(plan.comment)
        .from_path(&file.path)
        .with_context(|| format!("reading `{}` = {}", file.key, file.path.display()))?;
    let names: Vec<String> = match &plan.columns {
        Some(c) => c.names.clone(),
        None => reader
            .headers()
            .with_context(|| format!("reading the header of {}", file.path.display()))?
            .iter()
            .map(str::to_string)
            .collect(),
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        if plan.max_rows.is_some_and(|m| rows.len() >= m) {
            break;
        }
        let record = record.with_context(|| format!("reading {}", file.path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != names.len() {
            anyhow::bail!(
                "{}:{line}: {} fields, the columns are {} ({})",
                file.path.display(),
                record.len(),
                names.len(),
                names.join(", ")
            );
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(Records {
        names,
        rows,
        file: file.path.display().to_string(),
    })
}

/// The index of every column of `columns`, or an error at its key.
fn indices(source: &Source, names: &[String], columns: &Columns) -> Result<Vec<usize>, ConfigError> {
    columns
        .names
        .iter()
        .map(|c| {
            names.iter().position(|n| n == c).ok_or_else(|| {
                source.error(
                    columns.span.clone(),
                    &columns.key,
                    format!("unknown column `{c}`; the columns are: {}", names.join(", ")),
                )
            })
        })
        .collect()
}

fn load_csv(
    plan: &DataPlan,
    source: &Source,
    seed: u64,
    train: &FileRef,
    validation: Option<&FileRef>,
    test: Option<&FileRef>,
) -> Result<TrainData, LoadError> {
    let train_records = read_csv(plan, train)?;
    let names = train_records.names.clone();
    let label = indices(source, &names, &plan.label)?[0];
    let numeric = indices(source, &names, &plan.numeric)?;
    let categorical = indices(source, &names, &plan.categorical)?;
    let groups = indices(source, &names, &plan.groups)?;
    let others = [validation, test]
        .into_iter()
        .flatten()
        .map(|f| {
            let r = read_csv(plan, f)?;
            if r.names != names {
                anyhow::bail!(
                    "{} has the columns {}, the training file {}",
                    r.file,
                    r.names.join(", "),
                    names.join(", ")
                );
            }
            Ok(r)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut others = others.into_iter();
    let validation_records = validation.and_then(|_| others.next());
    let test_records = test.and_then(|_| others.next());

    let (train_ids, val_ids, test_ids) = cut(
        train_records.rows.len(),
        plan.validation_fraction,
        plan.test_fraction,
        seed,
    );
    let pick =
        |ids: &[usize]| -> Vec<(u64, Vec<String>)> { ids.iter().map(|i| train_records.rows[*i].clone()).collect() };
    let train_rows = pick(&train_ids);
    if train_rows.is_empty() {
        return Err(anyhow::anyhow!("{} has no training rows", train_records.file).into());
    }
    let file = &train_records.file;

    // Encoders, fitted on the training split.
    let parse = |file: &str, line: u64, column: usize, v: &str| -> anyhow::Result<f64> {
        v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
            anyhow::anyhow!(
                "{file}:{line}: column `{}`: `{v}` is not a finite number",
                names[column]
            )
        })
    };
    let mut scales = Vec::with_capacity(numeric.len());
    for &j in &numeric {
        let values = train_rows
            .iter()
            .map(|(line, r)| parse(file, *line, j, &r[j]))
            .collect::<anyhow::Result<Vec<f64>>>()?;
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
        scales.push((mean, sd));
    }
    let categories: Vec<Vec<String>> = categorical
        .iter()
        .map(|&j| {
            train_rows
                .iter()
                .map(|(_, r)| r[j].clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .collect();
    let dims = numeric.len() + categories.iter().map(Vec::len).sum::<usize>();
    let encode = |name: &'static str, file: &str, rows: &[(u64, Vec<String>)]| -> anyhow::Result<Split> {
        let mut x = Vec::with_capacity(rows.len() * dims);
        let mut labels = Vec::with_capacity(rows.len());
        let mut group_values = vec![Vec::with_capacity(rows.len()); groups.len()];
        for (line, r) in rows {
            for (&j, (mean, sd)) in numeric.iter().zip(&scales) {
                x.push(((parse(file, *line, j, &r[j])? - mean) / sd) as f32);
            }
            for (&j, values) in categorical.iter().zip(&categories) {
                x.extend(values.iter().map(|v| if *v == r[j] { 1.0f32 } else { 0.0 }));
            }
            labels.push(usize::from(plan.positive.iter().any(|p| *p == r[label])));
            for (k, &j) in groups.iter().enumerate() {
                group_values[k].push(r[j].clone());
            }
        }
        Ok(Split {
            name,
            x,
            labels,
            groups: group_values,
        })
    };
    let mut splits = vec![encode("train", file, &train_rows)?];
    match validation_records {
        Some(r) => splits.push(encode("validation", &r.file, &r.rows)?),
        None if !val_ids.is_empty() => splits.push(encode("validation", file, &pick(&val_ids))?),
        None => {}
    }
    match test_records {
        Some(r) => splits.push(encode("test", &r.file, &r.rows)?),
        None if !test_ids.is_empty() => splits.push(encode("test", file, &pick(&test_ids))?),
        None => {}
    }
    Ok(TrainData {
        dims,
        classes: 2,
        group_columns: plan.groups.names.clone(),
        splits,
    })
}

fn load_idx(
    plan: &DataPlan,
    seed: u64,
    train: &(FileRef, FileRef),
    test: Option<&(FileRef, FileRef)>,
) -> Result<TrainData, LoadError> {
    let read = |(images, labels): &(FileRef, FileRef)| -> anyhow::Result<(usize, Vec<f32>, Vec<usize>)> {
        let hint = "check the path in the configuration";
        let i = crate::data::idx::read_idx_gz(&images.path, hint).with_context(|| format!("`{}`", images.key))?;
        let l = crate::data::idx::read_idx_gz(&labels.path, hint).with_context(|| format!("`{}`", labels.key))?;
        let n = i.shape.first().copied().unwrap_or(0);
        if l.data.len() != n {
            anyhow::bail!(
                "{} has {n} images, {} has {} labels",
                images.path.display(),
                labels.path.display(),
                l.data.len()
            );
        }
        let dims = i.shape.get(1..).unwrap_or(&[]).iter().product::<usize>();
        let keep = plan.max_rows.map_or(n, |m| m.min(n));
        let x = i.data[..keep * dims].iter().map(|p| f32::from(*p) / 255.0).collect();
        Ok((dims, x, l.data[..keep].iter().map(|y| usize::from(*y)).collect()))
    };
    let (dims, x, labels) = read(train)?;
    let test_data = test.map(read).transpose()?;
    let (train_ids, val_ids, test_ids) = cut(labels.len(), plan.validation_fraction, plan.test_fraction, seed);
    let split = |name: &'static str, x: &[f32], labels: &[usize], ids: &[usize]| Split {
        name,
        x: ids
            .iter()
            .flat_map(|i| x[i * dims..(i + 1) * dims].iter().copied())
            .collect(),
        labels: ids.iter().map(|i| labels[*i]).collect(),
        groups: vec![ids.iter().map(|i| labels[*i].to_string()).collect()],
    };
    if train_ids.is_empty() {
        return Err(anyhow::anyhow!("{} has no training images left", train.0.path.display()).into());
    }
    let mut splits = vec![split("train", &x, &labels, &train_ids)];
    if !val_ids.is_empty() {
        splits.push(split("validation", &x, &labels, &val_ids));
    }
    match test_data {
        Some((d, tx, ty)) => {
            if d != dims {
                return Err(anyhow::anyhow!("the test images have {d} pixels, the training images {dims}").into());
            }
            let all: Vec<usize> = (0..ty.len()).collect();
            splits.push(split("test", &tx, &ty, &all));
        }
        None if !test_ids.is_empty() => splits.push(split("test", &x, &labels, &test_ids)),
        None => {}
    }
    let classes = splits
        .iter()
        .flat_map(|s| s.labels.iter().copied())
        .max()
        .map_or(2, |m| (m + 1).max(2));
    Ok(TrainData {
        dims,
        classes,
        group_columns: vec![IDX_GROUP_COLUMN.to_string()],
        splits,
    })
}
