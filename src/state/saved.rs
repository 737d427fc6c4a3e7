//! The options a campaign was started with, saved as JSON in the journal.
//!
//! `resume` runs from these alone: the same accounts, rates, windows and
//! endpoint, unless a resume flag changes the pacing. Token *names* (the
//! environment variables) are saved; token values never are.

use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::journal::CampaignMeta;
use crate::options::CampaignFlags;
use crate::throttle::BackoffPolicy;
use crate::window::WindowSet;

/// Retry settings as saved, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedRetry {
    pub base_ms: u64,
    pub cap_ms: u64,
    pub attempts: u32,
    pub timeout_ms: u64,
}

/// Everything `resume` needs besides the messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedOptions {
    /// The flags as given (paths made absolute), to reload the CSV.
    pub flags: CampaignFlags,
    pub accounts: Vec<Account>,
    pub windows: WindowSet,
    pub timezone: String,
    pub jitter: f64,
    /// Hex seed of the jitter.
    pub seed: String,
    pub endpoint: Option<String>,
    pub retry: SavedRetry,
    /// Do-not-contact lists (absolute), re-read by every run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress: Vec<std::path::PathBuf>,
    /// The sequence's steps (`[[steps]]`), for the follow-ups' delays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::sequence::Step>,
    /// `per_domain_daily_cap`, kept by `resume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_domain_daily_cap: Option<u32>,
}

/// Saved options this build cannot read (written by another version).
#[derive(Debug, thiserror::Error)]
#[error(
    "the campaign's saved options were written by outreach {version} and this build cannot read them ({source}); use the outreach version that wrote the journal"
)]
pub struct UnreadableOptions {
    pub version: String,
    source: serde_json::Error,
}

impl SavedOptions {
    /// The options saved with `meta`'s campaign: the one place they are
    /// decoded, for `resume`, `status`, `report` and `send`'s checks.
    pub fn of(meta: &CampaignMeta) -> Result<SavedOptions, UnreadableOptions> {
        serde_json::from_str(&meta.options_json).map_err(|source| UnreadableOptions {
            version: meta.tool_version.clone(),
            source,
        })
    }
}

impl SavedRetry {
    pub fn new(policy: &BackoffPolicy, timeout: Duration) -> SavedRetry {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        SavedRetry {
            base_ms: millis(policy.base),
            cap_ms: millis(policy.cap),
            attempts: policy.max_attempts,
            timeout_ms: millis(timeout),
        }
    }

    pub fn policy(&self) -> BackoffPolicy {
        BackoffPolicy {
            base: Duration::from_millis(self.base_ms),
            cap: Duration::from_millis(self.cap_ms),
            max_attempts: self.attempts,
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

impl SavedOptions {
    /// The zone of windows and caps; UTC if the saved name is unknown to this build.
    pub fn zone(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The jitter seed as bytes.
    pub fn seed_bytes(&self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        if let Ok(hash) = blake3::Hash::from_hex(&self.seed) {
            seed = *hash.as_bytes();
        }
        seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let saved = SavedOptions {
            flags: CampaignFlags {
                csv: "/data/r.csv".into(),
                rate: Some("20/h".into()),
                ..CampaignFlags::default()
            },
            accounts: vec![Account {
                name: "alice".into(),
                rate: "20/h".parse().unwrap(),
                daily_cap: Some(100),
                token_env: "ALICE_TOKEN".into(),
                channel: Default::default(),
                warmup: None,
            }],
            windows: "mon-fri 09:00-17:00".parse().unwrap(),
            timezone: "Europe/Berlin".into(),
            jitter: 0.3,
            seed: blake3::hash(b"x").to_hex().to_string(),
            endpoint: Some("sandbox".into()),
            retry: SavedRetry::new(&BackoffPolicy::default(), Duration::from_secs(30)),
            suppress: Vec::new(),
            steps: Vec::new(),
            per_domain_daily_cap: None,
        };
        let json = serde_json::to_string(&saved).unwrap();
        assert!(!json.contains("token\":"), "no token values: {json}");
        let mut meta = CampaignMeta {
            campaign_id: "c".into(),
            created_at: "2026-01-05T09:00:00Z".parse().unwrap(),
            csv_path: "/data/r.csv".into(),
            fingerprint: "f".into(),
            inputs: Vec::new(),
            options_json: json,
            tool_version: "0.1.0".into(),
        };
        assert_eq!(SavedOptions::of(&meta).unwrap(), saved);
        meta.options_json = r#"{"flags":"from a future version"}"#.into();
        meta.tool_version = "9.0.0".into();
        let error = SavedOptions::of(&meta).unwrap_err().to_string();
        assert!(error.contains("written by outreach 9.0.0"), "{error}");
        assert_eq!(saved.zone(), chrono_tz::Europe::Berlin);
        assert_eq!(saved.seed_bytes(), *blake3::hash(b"x").as_bytes());
    }
}
