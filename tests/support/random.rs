//! A small deterministic random sequence (xorshift) for tests that kill processes at random
//! moments: seeded from the clock, or from `WEFT_TEST_SEED` to repeat a failing run, and
//! printed.

use std::time::SystemTime;

pub struct Random(u64);

impl Random {
    pub fn new() -> Random {
        let seed = std::env::var("WEFT_TEST_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|since| since.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        eprintln!("random seed {seed} (WEFT_TEST_SEED repeats it)");
        Random(seed)
    }

    /// The next number below `bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}
