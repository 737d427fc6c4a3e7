//! Seeded fault injection: failures, dropped connections and latency.
//!
//! A sender has to survive an API that answers 503, one that accepts a
//! message and then loses the connection, and one that is slow. The sandbox
//! produces these on demand, and from a seed, so that a failing test can be
//! run again with the same sequence of faults. Each request to the API takes
//! exactly three draws, whatever the rates, so the n-th request always gets
//! the n-th outcome. The generator is Xoshiro256++, whose output rand
//! promises not to change between versions.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// The faults to inject, as probabilities per request and a latency bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    /// Probability of answering 503 without accepting the message.
    pub fail_rate: f64,
    /// Probability of accepting the message, then closing the connection
    /// without any response.
    pub drop_rate: f64,
    /// Each request waits a random time up to this long before it is handled.
    pub latency: Option<Duration>,
}

/// The faults drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fault {
    /// Wait this long before handling the request.
    pub delay: Duration,
    /// Answer 503 (takes effect for authenticated, well-formed requests).
    pub fail: bool,
    /// Accept, then drop the connection (takes effect only for new messages).
    pub drop: bool,
}

/// The sequence of faults for one sandbox, shared by all its connections.
#[derive(Debug)]
pub struct FaultDice {
    rates: FaultRates,
    rng: Mutex<Xoshiro256PlusPlus>,
}

impl FaultDice {
    pub fn new(rates: FaultRates, seed: u64) -> FaultDice {
        FaultDice {
            rates,
            rng: Mutex::new(Xoshiro256PlusPlus::seed_from_u64(seed)),
        }
    }

    /// Draw the faults for the next request.
    pub fn draw(&self) -> Fault {
        let (fail, drop, delay) = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            )
        };
        Fault {
            delay: self
                .rates
                .latency
                .map_or(Duration::ZERO, |max| max.mul_f64(delay)),
            fail: fail < self.rates.fail_rate,
            drop: drop < self.rates.drop_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(fail_rate: f64, drop_rate: f64, latency_ms: u64) -> FaultRates {
        FaultRates {
            fail_rate,
            drop_rate,
            latency: Some(Duration::from_millis(latency_ms)),
        }
    }

    fn sequence(dice: &FaultDice, n: usize) -> Vec<Fault> {
        (0..n).map(|_| dice.draw()).collect()
    }

    #[test]
    fn same_seed_same_sequence() {
        let a = FaultDice::new(rates(0.3, 0.2, 50), 7);
        let b = FaultDice::new(rates(0.3, 0.2, 50), 7);
        let c = FaultDice::new(rates(0.3, 0.2, 50), 8);
        let first = sequence(&a, 200);
        assert_eq!(first, sequence(&b, 200));
        assert_ne!(first, sequence(&c, 200));
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let dice = FaultDice::new(rates(0.3, 0.1, 100), 1);
        let faults = sequence(&dice, 10_000);
        let fails = faults.iter().filter(|f| f.fail).count();
        let drops = faults.iter().filter(|f| f.drop).count();
        assert!((2_700..3_300).contains(&fails), "{fails}");
        assert!((800..1_200).contains(&drops), "{drops}");
        assert!(faults.iter().all(|f| f.delay < Duration::from_millis(100)));
        assert!(faults.iter().any(|f| f.delay > Duration::from_millis(90)));
    }

    #[test]
    fn zero_and_one_are_never_and_always() {
        let never = FaultDice::new(rates(0.0, 0.0, 0), 3);
        assert!(
            sequence(&never, 1000)
                .iter()
                .all(|f| *f == Fault::default())
        );
        let always = FaultDice::new(rates(1.0, 1.0, 0), 3);
        assert!(sequence(&always, 1000).iter().all(|f| f.fail && f.drop));
    }

    #[test]
    fn the_sequence_does_not_depend_on_the_rates() {
        // Changing a rate changes which requests fail, not how many draws each takes.
        let low = FaultDice::new(rates(0.0, 0.0, 10), 5);
        let high = FaultDice::new(rates(1.0, 1.0, 10), 5);
        let delays = |dice: &FaultDice| {
            sequence(dice, 50)
                .iter()
                .map(|f| f.delay)
                .collect::<Vec<_>>()
        };
        assert_eq!(delays(&low), delays(&high));
    }
}
