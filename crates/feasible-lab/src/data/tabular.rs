//! Tabular data: rows of numeric features with a binary label, as the
//! fairness data sets (Adult, COMPAS) are encoded.

/// Rows of features, row-major, and one label per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// `len() · dims` features, row-major.
    pub features: Vec<f32>,
    /// Features per row.
    pub dims: usize,
    /// The binary label of each row.
    pub labels: Vec<bool>,
}

impl Table {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The features of row `i` (panics if `i ≥ len()`).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.dims..(i + 1) * self.dims]
    }

    /// Feature `j` of every row as a mask (`> 0.5`; `None` if `j ≥ dims`).
    pub fn column(&self, j: usize) -> Option<Vec<bool>> {
        (j < self.dims).then(|| self.features.chunks_exact(self.dims).map(|row| row[j] > 0.5).collect())
    }

    /// The features of rows `ids`, row-major (a batch).
    pub fn gather(&self, ids: &[usize]) -> Vec<f32> {
        ids.iter().flat_map(|i| self.row(*i).iter().copied()).collect()
    }
}

/// The index of the feature called `name` among `names`.
pub fn feature_index(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_columns_and_batches() {
        let t = Table {
            features: vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            dims: 2,
            labels: vec![true, false, true],
        };
        assert_eq!((t.len(), t.row(1)), (3, &[0.0, 1.0][..]));
        assert_eq!(t.column(0), Some(vec![true, false, true]));
        assert_eq!(t.column(2), None);
        assert_eq!(t.gather(&[2, 0]), vec![1.0, 1.0, 1.0, 0.0]);
        assert_eq!(feature_index(&["a".into(), "b".into()], "b"), Some(1));
    }
}
