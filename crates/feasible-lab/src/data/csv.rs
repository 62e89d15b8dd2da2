//! Numeric CSV: one record per line, fields separated by commas.

use std::path::Path;

use super::error::DataError;

/// Reads a CSV file of numbers, skipping the first `skip` lines (headers).
/// A field that is not a number is reported with its file, line and column.
pub fn read_numeric_csv(path: &Path, skip: usize, hint: &str) -> Result<Vec<Vec<f64>>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e, hint))?;
    parse_numeric_csv(path, &text, skip)
}

/// Parses CSV text of numbers (see [`read_numeric_csv`]); every record must
/// have as many fields as the first.
pub fn parse_numeric_csv(path: &Path, text: &str, skip: usize) -> Result<Vec<Vec<f64>>, DataError> {
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (n, line) in text.lines().enumerate().skip(skip) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let malformed = |reason: String| DataError::Malformed {
            path: path.to_path_buf(),
            location: format!("line {}", n + 1),
            reason,
        };
        let row = line
            .split(',')
            .enumerate()
            .map(|(column, field)| {
                field
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        malformed(format!(
                            "field {} `{}` is not a finite number",
                            column + 1,
                            field.trim()
                        ))
                    })
            })
            .collect::<Result<Vec<f64>, _>>()?;
        if let Some(first) = rows.first()
            && first.len() != row.len()
        {
            return Err(malformed(format!(
                "{} fields, the first record has {}",
                row.len(),
                first.len()
            )));
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
