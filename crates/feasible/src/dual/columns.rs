//! Column-wise serialization of per-entry optimizer states.
//!
//! A million entries written as `[{"xi":0.0,"started":false}, ...]` take
//! about 120 bytes each in JSON. Written as columns, one array per field
//! and flags as a string of `0` and `1`, they take a fraction of that and
//! stay readable: `{"xi":[0.0,0.5,...],"started":"0110..."}`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AdamEntry, NuPiEntry, OmegaEntry, OptimisticEntry};

/// Flags as a string of `0` and `1`.
fn flags_to_string(flags: impl Iterator<Item = bool>) -> String {
    flags.map(|f| if f { '1' } else { '0' }).collect()
}

fn string_to_flags<E: serde::de::Error>(text: &str) -> Result<Vec<bool>, E> {
    text.chars()
        .map(|c| match c {
            '0' => Ok(false),
            '1' => Ok(true),
            other => Err(E::custom(format!("flag `{other}` is neither 0 nor 1"))),
        })
        .collect()
}

fn same_length<E: serde::de::Error>(lengths: &[usize]) -> Result<usize, E> {
    match lengths {
        [first, rest @ ..] if rest.iter().all(|l| l == first) => Ok(*first),
        _ => Err(E::custom(format!("columns of different lengths {lengths:?}"))),
    }
}

#[derive(Serialize, Deserialize)]
struct NuPiColumns {
    xi: Vec<f64>,
    started: String,
}

/// `Vec<NuPiEntry>` as columns.
pub mod nupi {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(entries: &[NuPiEntry], s: S) -> Result<S::Ok, S::Error> {
        NuPiColumns {
            xi: entries.iter().map(|e| e.xi).collect(),
            started: flags_to_string(entries.iter().map(|e| e.started)),
        }
        .serialize(s)
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NuPiEntry>, D::Error> {
        let c = NuPiColumns::deserialize(d)?;
        let started = string_to_flags::<D::Error>(&c.started)?;
        same_length::<D::Error>(&[c.xi.len(), started.len()])?;
        Ok(c.xi
            .into_iter()
            .zip(started)
            .map(|(xi, started)| NuPiEntry { xi, started })
            .collect())
    }
}

#[derive(Serialize, Deserialize)]
struct OptimisticColumns {
    previous: Vec<f64>,
}

/// `Vec<OptimisticEntry>` as columns.
pub mod optimistic {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(entries: &[OptimisticEntry], s: S) -> Result<S::Ok, S::Error> {
        OptimisticColumns {
            previous: entries.iter().map(|e| e.previous).collect(),
        }
        .serialize(s)
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OptimisticEntry>, D::Error> {
        let c = OptimisticColumns::deserialize(d)?;
        Ok(c.previous
            .into_iter()
            .map(|previous| OptimisticEntry { previous })
            .collect())
    }
}

#[derive(Serialize, Deserialize)]
struct OmegaColumns {
    ema: Vec<f64>,
    started: String,
}

/// `Vec<OmegaEntry>` as columns.
pub mod omega {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(entries: &[OmegaEntry], s: S) -> Result<S::Ok, S::Error> {
        OmegaColumns {
            ema: entries.iter().map(|e| e.ema).collect(),
            started: flags_to_string(entries.iter().map(|e| e.started)),
        }
        .serialize(s)
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OmegaEntry>, D::Error> {
        let c = OmegaColumns::deserialize(d)?;
        let started = string_to_flags::<D::Error>(&c.started)?;
        same_length::<D::Error>(&[c.ema.len(), started.len()])?;
        Ok(c.ema
            .into_iter()
            .zip(started)
            .map(|(ema, started)| OmegaEntry { ema, started })
            .collect())
    }
}

#[derive(Serialize, Deserialize)]
struct AdamColumns {
    m: Vec<f64>,
    v: Vec<f64>,
    t: Vec<u64>,
}

/// `Vec<AdamEntry>` as columns.
pub mod adam {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(entries: &[AdamEntry], s: S) -> Result<S::Ok, S::Error> {
        AdamColumns {
            m: entries.iter().map(|e| e.m).collect(),
            v: entries.iter().map(|e| e.v).collect(),
            t: entries.iter().map(|e| e.t).collect(),
        }
        .serialize(s)
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AdamEntry>, D::Error> {
        let c = AdamColumns::deserialize(d)?;
        same_length::<D::Error>(&[c.m.len(), c.v.len(), c.t.len()])?;
        if c.v.iter().any(|v| *v < 0.0) {
            return Err(D::Error::custom("a second moment is negative"));
        }
        Ok(c.m
            .into_iter()
            .zip(c.v)
            .zip(c.t)
            .map(|((m, v), t)| AdamEntry { m, v, t })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::dual::DualOptimizerState;

    #[test]
    fn columns_round_trip_and_refuse_mismatched_lengths() {
        let state = DualOptimizerState::NuPi(vec![
            super::NuPiEntry { xi: 0.5, started: true },
            super::NuPiEntry::default(),
        ]);
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, r#"{"kind":"nu_pi","entries":{"xi":[0.5,0.0],"started":"10"}}"#);
        assert_eq!(serde_json::from_str::<DualOptimizerState>(&json).unwrap(), state);
        let bad = r#"{"kind":"nu_pi","entries":{"xi":[0.5,0.0],"started":"1"}}"#;
        assert!(
            serde_json::from_str::<DualOptimizerState>(bad)
                .unwrap_err()
                .to_string()
                .contains("different lengths")
        );
        let bad = r#"{"kind":"adam","entries":{"m":[0.5],"v":[-1.0],"t":[1]}}"#;
        assert!(serde_json::from_str::<DualOptimizerState>(bad).is_err());
    }
}
