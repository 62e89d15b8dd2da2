//! CSV through the `csv` crate: quoted fields, blank lines skipped, and
//! the line of each record for error messages; numeric files.

use std::path::Path;

use super::error::DataError;
/// Reads a CSV file of numbers, skipping the first `skip` lines (headers).
/// A field that is not a number is reported with its file, line and column.
pub fn read_numeric_csv(path: &Path, skip: usize, hint: &str) -> Result<Vec<Vec<f64>>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e, hint))?;
    parse_numeric_csv(path, &text, skip)
}

/// A reader of CSV text without a header row, every record taken as it is
/// (any number of fields; the callers check).
pub fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// The lines of a text, to name the line on which a record starts: the csv
/// crate's own line count leaves out the empty lines it skips, and its
/// position is before them.
pub struct Lines<'a> {
    bytes: &'a [u8],
    /// The offset of every `\n`.
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Indexes `text`.
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let newlines = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
            .collect();
        Self { bytes, newlines }
    }

    /// The line (from 1) on which the record at `position` starts (0 when
    /// there is no position).
    pub fn of(&self, position: Option<&csv::Position>) -> usize {
        position.map_or(0, |p| {
            let mut byte = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(self.bytes.len());
            while byte < self.bytes.len() && matches!(self.bytes[byte], b'\n' | b'\r') {
                byte += 1;
            }
            self.newlines.partition_point(|n| *n < byte) + 1
        })
    }
}

/// Parses CSV text of numbers (see [`read_numeric_csv`]); every record must
/// have as many fields as the first.
pub fn parse_numeric_csv(path: &Path, text: &str, skip: usize) -> Result<Vec<Vec<f64>>, DataError> {
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let malformed = |line: usize, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        location: format!("line {line}"),
        reason,
    };
    let lines = Lines::new(text);
    for record in reader(text).records() {
        let record = record.map_err(|e| malformed(lines.of(e.position()), e.to_string()))?;
        let n = lines.of(record.position());
        if n <= skip || record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let row = record
            .iter()
            .enumerate()
            .map(|(column, field)| {
                field
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        malformed(
                            n,
                            format!("field {} `{}` is not a finite number", column + 1, field.trim()),
                        )
                    })
            })
            .collect::<Result<Vec<f64>, _>>()?;
        if let Some(first) = rows.first()
            && first.len() != row.len()
        {
            return Err(malformed(
                n,
                format!("{} fields, the first record has {}", row.len(), first.len()),
            ));
        }
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_names_the_line_of_a_bad_field() {
        let p = Path::new("data/x.csv");
        assert_eq!(
            parse_numeric_csv(p, "a,b\n1,2\n\n3, 4.5\n", 1).unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.5]]
        );
        let e = parse_numeric_csv(p, "1,2\n3,x\n", 0).unwrap_err().to_string();
        assert_eq!(e, "data/x.csv:line 2: field 2 `x` is not a finite number");
        let e = parse_numeric_csv(p, "1,2\n3\n", 0).unwrap_err().to_string();
        assert!(e.contains("line 2: 1 fields, the first record has 2"), "{e}");
        assert!(parse_numeric_csv(p, "1,NaN\n", 0).is_err());
    }
}
