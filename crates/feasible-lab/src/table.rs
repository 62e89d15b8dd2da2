//! Plain-text tables for the terminal.

use std::fmt;

/// A table with a title, a header row and right-aligned cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table.
    pub fn new(title: impl Into<String>, header: &[&str]) -> Self {
        Self {
            title: title.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = self.header.len();
        let width: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .chain(std::iter::once(&self.header[c]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        writeln!(f, "{}", self.title)?;
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let text: Vec<String> = (0..columns)
                .map(|c| format!("{:>w$}", cells.get(c).map(String::as_str).unwrap_or(""), w = width[c]))
                .collect();
            writeln!(f, "  {}", text.join("  "))
        };
        line(f, &self.header)?;
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(f, "  {}", rule.join("  "))?;
        for r in &self.rows {
            line(f, r)?;
        }
        Ok(())
    }
}

/// A percentage with two decimals, from a fraction: `0.7 -> "70.00"`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}", 100.0 * fraction)
}

/// An optional percentage; `-` when absent.
pub fn percent_or_dash(fraction: Option<f64>) -> String {
    fraction.map(percent).unwrap_or_else(|| "-".to_string())
}

/// A number in compact scientific notation: `2.15e-3`, `0`, `1.00e2`.
pub fn sci(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else {
        format!("{value:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_right() {
        let mut t = Table::new("T", &["a", "bbb"]);
        t.row(vec!["10".into(), "2".into()]);
        assert_eq!(t.to_string(), "T\n   a  bbb\n  --  ---\n  10    2\n");
        assert_eq!(percent(0.7), "70.00");
        assert_eq!(sci(0.0021544), "2.15e-3");
    }
}
