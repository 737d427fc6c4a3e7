//! Reproducible jitter: the same campaign gets the same random delays.
//!
//! A slot's extra delay is derived from a hash of the campaign seed and the
//! recipient, so `outreach plan` run twice shows the same schedule and a resumed
//! campaign keeps its shape, while different campaigns look different.

/// A number in `[0, 1)` derived from `seed` and `key`.
pub fn unit_fraction(seed: &[u8; 32], key: &str) -> f64 {
    let mut hasher = blake3::Hasher::new_keyed(seed);
    hasher.update(key.as_bytes());
    let hash = hasher.finalize();
    let bytes: [u8; 8] = hash.as_bytes()[..8].try_into().expect("8 bytes");
    // 53 random bits make every value exactly representable.
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_in_range() {
        let seed = [7u8; 32];
        let a = unit_fraction(&seed, "urn:li:person:1");
        assert_eq!(a, unit_fraction(&seed, "urn:li:person:1"));
        assert_ne!(a, unit_fraction(&seed, "urn:li:person:2"));
        assert_ne!(a, unit_fraction(&[8u8; 32], "urn:li:person:1"));
        let mean = (0..10_000)
            .map(|i| unit_fraction(&seed, &i.to_string()))
            .inspect(|f| assert!((0.0..1.0).contains(f)))
            .sum::<f64>()
            / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
