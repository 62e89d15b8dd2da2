//! Fisher's Iris data (150 rows, shipped in `data/iris.csv` and compiled
//! into the binary), for the hard-margin SVM experiment.

use std::path::Path;

use rand::Rng;

use super::csv::parse_numeric_csv;
use super::error::DataError;
use super::sampling::SplitMix64;

/// The shipped file.
pub const IRIS_CSV: &str = include_str!("../../../../data/iris.csv");

/// Features and labels of a binary problem, labels `-1` or `+1`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binary {
    /// One row of features per sample.
    pub features: Vec<Vec<f64>>,
    /// `-1.0` or `+1.0`.
    pub labels: Vec<f64>,
}

/// Every row: 4 measurements and the species (0, 1, 2).
pub fn iris() -> Result<Vec<(Vec<f64>, usize)>, DataError> {
    let rows = parse_numeric_csv(Path::new("data/iris.csv"), IRIS_CSV, 1)?;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| match row.as_slice() {
            [a, b, c, d, species] if [0.0, 1.0, 2.0].contains(species) => Ok((vec![*a, *b, *c, *d], *species as usize)),
            _ => Err(DataError::Malformed {
                path: "data/iris.csv".into(),
                location: format!("line {}", i + 2),
                reason: "expected 4 measurements and a species 0, 1 or 2".into(),
            }),
        })
        .collect()
}

/// Setosa (`-1`) against versicolor (`+1`), shuffled with `seed` and split
/// into a training set of `train_fraction` of the 100 rows and a test set;
/// features standardized with the training set's mean and standard
/// deviation.
pub fn setosa_versicolor(train_fraction: f64, seed: u64) -> Result<(Binary, Binary), DataError> {
    let mut rows: Vec<(Vec<f64>, f64)> = iris()?
        .into_iter()
        .filter(|(_, s)| *s < 2)
        .map(|(x, s)| (x, if s == 0 { -1.0 } else { 1.0 }))
        .collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..rows.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        rows.swap(i, j);
    }
    let n_train = (rows.len() as f64 * train_fraction).round() as usize;
    let (train, test) = rows.split_at(n_train);
    let dims = train[0].0.len();
    let mean: Vec<f64> = (0..dims)
        .map(|j| train.iter().map(|r| r.0[j]).sum::<f64>() / train.len() as f64)
        .collect();
    let std: Vec<f64> = (0..dims)
        .map(|j| (train.iter().map(|r| (r.0[j] - mean[j]).powi(2)).sum::<f64>() / train.len() as f64).sqrt())
        .collect();
    let standardize = |rows: &[(Vec<f64>, f64)]| Binary {
        features: rows
            .iter()
            .map(|(x, _)| x.iter().enumerate().map(|(j, v)| (v - mean[j]) / std[j]).collect())
            .collect(),
        labels: rows.iter().map(|(_, y)| *y).collect(),
    };
    Ok((standardize(train), standardize(test)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_has_150_rows_and_50_of_each_species() {
        let rows = iris().unwrap();
        assert_eq!(rows.len(), 150);
        for species in 0..3 {
            assert_eq!(rows.iter().filter(|(_, s)| *s == species).count(), 50);
        }
        assert_eq!(rows[0].0, vec![5.1, 3.5, 1.4, 0.2]);
    }

    #[test]
    fn the_split_is_70_30_and_standardized_on_the_training_set() {
        let (train, test) = setosa_versicolor(0.7, 0).unwrap();
        assert_eq!((train.labels.len(), test.labels.len()), (70, 30));
        for j in 0..4 {
            let mean: f64 = train.features.iter().map(|x| x[j]).sum::<f64>() / 70.0;
            let var: f64 = train.features.iter().map(|x| x[j] * x[j]).sum::<f64>() / 70.0;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        }
    }
}
