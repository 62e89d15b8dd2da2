//! Seeded random numbers on the host.
//!
//! burn's CPU backend keeps one random number generator for the whole
//! process (a global behind a lock), so two trainings on two threads would
//! draw from each other's stream. Gate noise and generated data come from
//! this generator instead, one per training: the same seed gives the same
//! numbers on every platform and thread, in every version.
//!
//! SplitMix64 (Steele, Lea & Flood 2014) for uniform bits, behind `rand`'s
//! traits ([`rand::Rng`], [`rand::SeedableRng`]), and [`Draw`]'s fixed
//! conversions (uniform, integer, Box-Muller normal, shuffle) over any
//! [`rand::Rng`].

use std::convert::Infallible;

use rand::{Rng, SeedableRng, TryRng};

/// A SplitMix64 generator: a [`rand::Rng`] whose `next_u64` is SplitMix64's
/// output, so that [`Draw`] and every `rand` distribution can use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed` (the same as
    /// [`SeedableRng::seed_from_u64`]).
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn step(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl TryRng for SplitMix64 {
    type Error = Infallible;

    /// The high 32 bits of the next 64.
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.step() >> 32) as u32)
    }

    /// The next 64 random bits.
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.step())
    }

    /// Little-endian bytes of successive 64-bit outputs.
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.step().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl SeedableRng for SplitMix64 {
    /// The initial state, little-endian.
    type Seed = [u8; 8];

    fn from_seed(seed: [u8; 8]) -> Self {
        Self::new(u64::from_le_bytes(seed))
    }

    /// [`SplitMix64::new`]: the state is the seed itself.
    fn seed_from_u64(state: u64) -> Self {
        Self::new(state)
    }
}

/// The draws of this crate and its lab from any [`rand::Rng`]: each is a
/// fixed function of `next_u64`'s output, so a seed gives the same numbers
/// on every platform and in every version of `rand`.
pub trait Draw: Rng {
    /// A uniform sample in `(0, 1]` (never 0, so its logarithm is finite).
    fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A uniform sample in the open interval `(0, 1)`.
    fn uniform_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A uniform integer in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A standard normal sample (Box-Muller; the second value is dropped).
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform_open0();
        let u2 = self.uniform_open0();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Shuffles `items` in place (Fisher-Yates).
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

impl<R: Rng + ?Sized> Draw for R {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Vigna's reference outputs for seed 1234567.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn the_rand_traits_give_splitmix_bits() {
        let mut a = SplitMix64::seed_from_u64(1234567);
        assert_eq!(a, SplitMix64::from_seed(1234567u64.to_le_bytes()));
        let mut bytes = [0u8; 12];
        a.fill_bytes(&mut bytes);
        assert_eq!(bytes[..8], 6457827717110365317u64.to_le_bytes());
        assert_eq!(bytes[8..], 3203168211198807973u64.to_le_bytes()[..4]);
        let mut b = SplitMix64::new(1234567);
        assert_eq!(b.next_u32(), (6457827717110365317u64 >> 32) as u32);
        // `rand`'s own distributions draw from it.
        let x: f64 = b.random();
        assert!((0.0..1.0).contains(&x));
    }

    #[test]
    fn samples_have_the_right_moments_and_ranges() {
        let mut rng = SplitMix64::new(7);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.01, "{mean} {var}");
        for _ in 0..10_000 {
            let u = rng.uniform_open();
            assert!(u > 0.0 && u < 1.0);
            assert!(rng.below(7) < 7);
        }
        let mut v: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
