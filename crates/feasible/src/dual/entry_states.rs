//! Per-entry state storage, the same for every dual optimizer (built-in or
//! a user's own) and for every smoothed estimate.
//!
//! An optimizer declares the names of the numbers it keeps per entry
//! ([`DualOptimizer::state_fields`](super::DualOptimizer::state_fields));
//! the storage keeps them as `f64`s, `width` per entry, in pages of
//! [`EntryStates::PAGE`] entries that are allocated on the first write.
//! An entry never written reads as zeros, which every optimizer takes as
//! "not started", so per-sample constraints with a billion entries cost
//! nothing for the entries never observed.
//!
//! In a checkpoint the state is written as columns, one array per field,
//! for the allocated pages only:
//! `{"fields":["xi","started"],"entries":3,"pages":[0],"columns":{"xi":[..],"started":[..]}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{FeasibleError, Result};

/// The state of `entries` entries, `fields.len()` numbers each, all zeros
/// until written.
#[derive(Clone, Debug, PartialEq)]
pub struct EntryStates {
    fields: Vec<String>,
    entries: usize,
    pages: Vec<Option<Box<[f64]>>>,
}

/// Zeros for reading an entry of an unallocated page.
const ZEROS: [f64; 16] = [0.0; 16];

impl EntryStates {
    /// Entries per page.
    pub const PAGE: usize = 1024;
    /// The most numbers an entry may keep.
    pub const MAX_FIELDS: usize = ZEROS.len();

    /// All-zero states for `entries` entries with the given field names.
    /// Only the page table is allocated (8 bytes per page); an impossible
    /// size is an error, not an abort.
    pub fn new(fields: &[&str], entries: usize) -> Result<Self> {
        if fields.len() > Self::MAX_FIELDS {
            return Err(FeasibleError::StateMismatch {
                reason: format!(
                    "an entry keeps {} numbers, at most {} are supported",
                    fields.len(),
                    Self::MAX_FIELDS
                ),
            });
        }
        let pages = if fields.is_empty() {
            0
        } else {
            entries.div_ceil(Self::PAGE)
        };
        let mut table = Vec::new();
        table.try_reserve_exact(pages).map_err(|_| FeasibleError::TooLarge {
            what: format!("the per-entry state of {entries} entries"),
        })?;
        table.resize_with(pages, || None);
        Ok(Self {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            entries,
            pages: table,
        })
    }

    /// The field names.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The numbers kept per entry.
    pub fn width(&self) -> usize {
        self.fields.len()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The state of entry `k` (zeros if never written). An id `>= len()`
    /// is [`FeasibleError::EntryOutOfRange`].
    pub fn get(&self, k: usize) -> Result<&[f64]> {
        self.check(k)?;
        Ok(self.entry(k))
    }

    /// The state of entry `k` for writing (allocates its page on first
    /// use). An id `>= len()` is [`FeasibleError::EntryOutOfRange`], and
    /// nothing is allocated.
    pub fn get_mut(&mut self, k: usize) -> Result<&mut [f64]> {
        self.check(k)?;
        Ok(self.entry_mut(k))
    }

    /// `k < len()`, or the error naming this state.
    fn check(&self, k: usize) -> Result<()> {
        if k < self.entries {
            Ok(())
        } else {
            Err(FeasibleError::EntryOutOfRange {
                what: format!("the per-entry state {:?}", self.fields),
                index: k,
                entries: self.entries,
            })
        }
    }

    /// [`EntryStates::get`] for an id the crate has checked (`k < len()`).
    pub(crate) fn entry(&self, k: usize) -> &[f64] {
        let w = self.width();
        match self.pages.get(k / Self::PAGE).and_then(Option::as_ref) {
            Some(page) => &page[(k % Self::PAGE) * w..(k % Self::PAGE + 1) * w],
            None => &ZEROS[..w],
        }
    }

    /// [`EntryStates::get_mut`] for an id the crate has checked (`k < len()`).
    pub(crate) fn entry_mut(&mut self, k: usize) -> &mut [f64] {
        let w = self.width();
        if w == 0 {
            return &mut [];
        }
        let page_len = Self::PAGE.min(self.entries - (k / Self::PAGE) * Self::PAGE);
        let page = self.pages[k / Self::PAGE].get_or_insert_with(|| vec![0.0; page_len * w].into_boxed_slice());
        &mut page[(k % Self::PAGE) * w..(k % Self::PAGE + 1) * w]
    }

    /// Puts entry `k` (`< len()`) back in its initial (all-zero) state.
    pub(crate) fn reset(&mut self, k: usize) {
        if self.width() > 0 && self.pages[k / Self::PAGE].is_some() {
            self.entry_mut(k).fill(0.0);
        }
    }

    /// The states of entries `ids` (ids may repeat, each `< len()`), as a
    /// dense store.
    pub(crate) fn gather(&self, ids: &[usize]) -> Self {
        let mut out = Self {
            fields: self.fields.clone(),
            entries: ids.len(),
            pages: Vec::new(),
        };
        if self.width() > 0 {
            out.pages.resize_with(ids.len().div_ceil(Self::PAGE), || None);
            for (j, id) in ids.iter().enumerate() {
                let source = self.entry(*id);
                if source.iter().any(|v| *v != 0.0) {
                    out.entry_mut(j).copy_from_slice(source);
                }
            }
        }
        out
    }

    /// Writes back entries `ids` from `sub`, made by [`EntryStates::gather`]
    /// with the same (distinct) ids.
    pub(crate) fn scatter(&mut self, ids: &[usize], sub: &Self) {
        if self.width() == 0 {
            return;
        }
        for (j, id) in ids.iter().enumerate() {
            let source = sub.entry(j);
            if source.iter().any(|v| *v != 0.0) || self.pages[id / Self::PAGE].is_some() {
                self.entry_mut(*id).copy_from_slice(source);
            }
        }
    }

    /// The first entry holding a number that is not finite, with the field.
    pub fn first_non_finite(&self) -> Option<(usize, &str, f64)> {
        let w = self.width();
        for (p, page) in self.pages.iter().enumerate() {
            if let Some(page) = page
                && let Some(at) = page.iter().position(|v| !v.is_finite())
            {
                return Some((p * Self::PAGE + at / w, &self.fields[at % w], page[at]));
            }
        }
        None
    }

    /// The number of bytes the allocated pages take.
    pub fn allocated_bytes(&self) -> usize {
        self.pages.iter().flatten().map(|p| p.len() * 8).sum::<usize>() + self.pages.len() * 8
    }
}

/// [`EntryStates`] as written in a checkpoint.
#[derive(Serialize, Deserialize)]
struct Columns {
    fields: Vec<String>,
    entries: usize,
    pages: Vec<usize>,
    columns: BTreeMap<String, Vec<f64>>,
}

impl Serialize for EntryStates {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let w = self.width();
        let allocated: Vec<(usize, &[f64])> = self
            .pages
            .iter()
            .enumerate()
            .filter_map(|(p, page)| page.as_deref().map(|page| (p, page)))
            .collect();
        let columns = self
            .fields
            .iter()
            .enumerate()
            .map(|(f, name)| {
                let column = allocated
                    .iter()
                    .flat_map(|(_, page)| page.iter().skip(f).step_by(w).copied())
                    .collect();
                (name.clone(), column)
            })
            .collect();
        Columns {
            fields: self.fields.clone(),
            entries: self.entries,
            pages: allocated.iter().map(|(p, _)| *p).collect(),
            columns,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for EntryStates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error;
        let c = Columns::deserialize(d)?;
        let fields: Vec<&str> = c.fields.iter().map(String::as_str).collect();
        let mut states = EntryStates::new(&fields, c.entries).map_err(D::Error::custom)?;
        let w = states.width();
        if w == 0 {
            return if c.pages.is_empty() && c.columns.is_empty() {
                Ok(states)
            } else {
                Err(D::Error::custom("a state without fields has pages"))
            };
        }
        if c.columns.len() != w || fields.iter().any(|f| !c.columns.contains_key(*f)) {
            return Err(D::Error::custom(format!(
                "the columns {:?} are not the fields {:?}",
                c.columns.keys().collect::<Vec<_>>(),
                c.fields
            )));
        }
        let mut offset = 0;
        let mut last = None;
        for p in &c.pages {
            if *p >= states.pages.len() || last.is_some_and(|l| l >= *p) {
                return Err(D::Error::custom(format!(
                    "page {p} is out of order or past the end ({} entries)",
                    c.entries
                )));
            }
            last = Some(*p);
            let page_len = EntryStates::PAGE.min(c.entries - p * EntryStates::PAGE);
            let mut page = vec![0.0; page_len * w];
            for (f, name) in fields.iter().enumerate() {
                let column = &c.columns[*name];
                let values = column
                    .get(offset..offset + page_len)
                    .ok_or_else(|| D::Error::custom(format!("column `{name}` is shorter than its pages")))?;
                for (k, v) in values.iter().enumerate() {
                    if !v.is_finite() {
                        return Err(D::Error::custom(format!("`{name}` of an entry is {v}, not finite")));
                    }
                    page[k * w + f] = *v;
                }
            }
            offset += page_len;
            states.pages[*p] = Some(page.into_boxed_slice());
        }
        if let Some((name, column)) = c.columns.iter().find(|(_, col)| col.len() != offset) {
            return Err(D::Error::custom(format!(
                "column `{name}` has {} values, its pages hold {offset}",
                column.len()
            )));
        }
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritten_entries_read_as_zeros_and_cost_no_page() {
        let mut s = EntryStates::new(&["xi", "started"], 1_000_000_000).unwrap();
        assert_eq!(s.entry(999_999_999), &[0.0, 0.0]);
        s.entry_mut(5).copy_from_slice(&[0.5, 1.0]);
        assert_eq!(s.entry(5), &[0.5, 1.0]);
        assert!(s.allocated_bytes() < 9_000_000, "{}", s.allocated_bytes());
        assert!(EntryStates::new(&["xi"], usize::MAX).is_err());
    }

    #[test]
    fn columns_round_trip_and_refuse_bad_input() {
        let mut s = EntryStates::new(&["xi", "started"], 2000).unwrap();
        s.entry_mut(1500).copy_from_slice(&[0.5, 1.0]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""pages":[1]"#), "{json}");
        let back: EntryStates = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let short = json.replace(r#""xi":[0.0"#, r#""xi":["#);
        assert!(serde_json::from_str::<EntryStates>(&short).is_err());
        let bad = r#"{"fields":["xi"],"entries":2,"pages":[0],"columns":{"xi":[0.5,null]}}"#;
        assert!(serde_json::from_str::<EntryStates>(bad).is_err());
        let bad = r#"{"fields":["xi"],"entries":2,"pages":[3],"columns":{"xi":[0.5,0.1]}}"#;
        assert!(serde_json::from_str::<EntryStates>(bad).is_err());
    }

    #[test]
    fn gather_scatter_and_reset() {
        let mut s = EntryStates::new(&["m"], 10).unwrap();
        s.entry_mut(3)[0] = 2.0;
        let mut sub = s.gather(&[3, 7]);
        assert_eq!((sub.entry(0), sub.entry(1)), (&[2.0][..], &[0.0][..]));
        sub.entry_mut(1)[0] = 1.0;
        s.scatter(&[3, 7], &sub);
        assert_eq!(s.entry(7), &[1.0]);
        s.reset(7);
        assert_eq!(s.entry(7), &[0.0]);
        assert_eq!(s.first_non_finite(), None);
        s.entry_mut(9)[0] = f64::NAN;
        assert_eq!(
            s.first_non_finite().map(|(k, f, _)| (k, f.to_string())),
            Some((9, "m".into()))
        );
    }

    #[test]
    fn an_id_out_of_range_is_a_typed_error_and_changes_nothing() {
        let mut s = EntryStates::new(&["m"], 3).unwrap();
        s.entry_mut(2)[0] = 1.0;
        let before = s.clone();
        for k in [3, 1024, usize::MAX] {
            for e in [s.get(k).unwrap_err(), s.get_mut(k).unwrap_err()] {
                assert!(
                    matches!(&e, FeasibleError::EntryOutOfRange { index, entries: 3, .. } if *index == k),
                    "{e}"
                );
                assert!(e.to_string().contains(&format!("entry {k} is out of range")), "{e}");
                assert!(e.to_string().contains(r#"["m"]"#), "{e}");
            }
            assert_eq!(s, before);
        }
        assert_eq!(s.get(2).unwrap(), &[1.0]);
        // A state without fields has nothing to read or write, in range.
        let mut bare = EntryStates::new(&[], 2).unwrap();
        assert!(bare.get_mut(1).unwrap().is_empty() && bare.get(1).unwrap().is_empty());
        assert!(bare.get_mut(2).is_err());
    }
}
