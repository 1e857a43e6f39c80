//! The demo's source of randomness: ChaCha8 seeded from `--seed`, so that one seed always
//! yields the same platform, the same traffic and the same attacks.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded random stream with the few draws the traffic model needs.
#[derive(Debug, Clone)]
pub struct DemoRng(ChaCha8Rng);

impl DemoRng {
    pub fn new(seed: u64) -> DemoRng {
        DemoRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// An independent stream derived from this one (one per concern, so that adding draws
    /// to one part of the model does not shift every other part).
    pub fn fork(&mut self) -> DemoRng {
        DemoRng(ChaCha8Rng::seed_from_u64(self.0.random()))
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.0.random_range(0..bound)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        self.0.random_range(low..=high)
    }

    /// True with probability `probability` (clamped to 0..=1).
    pub fn chance(&mut self, probability: f64) -> bool {
        let draw: f64 = self.0.random();
        draw < probability
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'i, T>(&mut self, items: &'i [T]) -> &'i T {
        debug_assert!(!items.is_empty(), "pick from an empty list");
        let index = self.below(items.len() as u64) as usize;
        &items[index.min(items.len().saturating_sub(1))]
    }

    /// `digits` lowercase hex digits (trace ids, span ids, request ids).
    pub fn hex(&mut self, digits: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..digits)
            .map(|_| char::from(HEX[self.below(16) as usize]))
            .collect()
    }

    /// `digits` uppercase letters and digits (AWS key and request id style).
    pub fn alnum_upper(&mut self, digits: usize) -> String {
        const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..digits)
            .map(|_| char::from(ALPHABET[self.below(36) as usize]))
            .collect()
    }

    /// A random UUID-shaped id (k8s audit ids, CloudTrail event ids).
    pub fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws() {
        let mut first = DemoRng::new(7);
        let mut second = DemoRng::new(7);
        for _ in 0..100 {
            assert_eq!(first.below(1_000), second.below(1_000));
        }
        assert_eq!(first.hex(32), second.hex(32));
        assert_ne!(DemoRng::new(7).hex(32), DemoRng::new(8).hex(32));
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = DemoRng::new(1);
        for _ in 0..1_000 {
            assert!(rng.below(5) < 5);
            let value = rng.between(-3, 3);
            assert!((-3..=3).contains(&value));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(4, 4), 4);
    }
}
