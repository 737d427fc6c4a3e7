//! The time zone a campaign falls back to, and `--start` read in a zone.
//!
//! Both are about local time: `TZ` may name no zone (the C library then
//! uses UTC, and so do we, but say so), and a `--start` without an offset
//! may fall into a DST gap or overlap, which is an error naming the flag
//! rather than a guess.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::OptionsError;

/// The machine's time zone, and the `TZ` value that was not a zone if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalZone {
    pub zone: Tz,
    /// `TZ` named no known zone, so UTC is used (as the C library does).
    pub unknown_tz: Option<String>,
}

impl LocalZone {
    /// From the value of `TZ` and the system setting (asked only when `TZ`
    /// is unset or empty).
    pub fn from_env(tz: Option<&str>, system: impl FnOnce() -> Option<String>) -> LocalZone {
        match tz.map(str::trim).filter(|value| !value.is_empty()) {
            Some(value) => {
                // `:Europe/Berlin` and `/usr/share/zoneinfo/Europe/Berlin` name a zone too.
                let name = value.trim_start_matches(':');
                let name = name.rsplit_once("zoneinfo/").map_or(name, |(_, zone)| zone);
                match name.parse() {
                    Ok(zone) => LocalZone {
                        zone,
                        unknown_tz: None,
                    },
                    Err(_) => LocalZone {
                        zone: chrono_tz::UTC,
                        unknown_tz: Some(value.to_string()),
                    },
                }
            }
            None => LocalZone {
                zone: system()
                    .and_then(|name| name.parse().ok())
                    .unwrap_or(chrono_tz::UTC),
                unknown_tz: None,
            },
        }
    }

    /// The machine's zone: `TZ` if set, else the system setting, else UTC.
    pub fn detect() -> LocalZone {
        let tz = std::env::var("TZ").ok();
        LocalZone::from_env(tz.as_deref(), || iana_time_zone::get_timezone().ok())
    }

    /// The one warning line to print when this zone is used, if any.
    pub fn warning(&self) -> Option<String> {
        self.unknown_tz.as_ref().map(|value| {
            format!(
                "warning: TZ=`{value}` is not a known time zone, so UTC is used; set TZ to an IANA \
                 name such as `Europe/Berlin`, or pass --timezone"
            )
        })
    }
}

/// The machine's time zone: `TZ` if it names a zone (UTC if it names none),
/// else the system setting, else UTC.
pub fn system_timezone() -> Tz {
    LocalZone::detect().zone
}

/// `--start`: `now`, RFC 3339, or a local time without offset read in `zone`.
pub(super) fn parse_start(
    text: &str,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<DateTime<Utc>, OptionsError> {
    if text == "now" {
        return Ok(now);
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.to_utc());
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| OptionsError::Start {
            input: text.to_string(),
        })?;
    let with_offset = |instant: DateTime<Tz>| instant.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(instant.to_utc()),
        LocalResult::Ambiguous(earlier, later) => Err(OptionsError::StartRepeated {
            input: text.to_string(),
            zone,
            earlier: with_offset(earlier),
            later: with_offset(later),
        }),
        LocalResult::None => {
            // The offset in force just before the gap, the one people forget to change.
            let before = local - TimeDelta::hours(3);
            let suggestion = match zone.from_local_datetime(&before).earliest() {
                Some(instant) => format!(
                    "{}{}",
                    local.format("%Y-%m-%dT%H:%M:%S"),
                    instant.offset().fix()
                ),
                None => format!("{}Z", local.format("%Y-%m-%dT%H:%M:%S")),
            };
            Err(OptionsError::StartSkipped {
                input: text.to_string(),
                zone,
                suggestion,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_codes;
    use chrono_tz::Europe::Berlin;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn tz_names_a_zone_or_means_utc_with_a_warning() {
        let never = || -> Option<String> { panic!("the system setting is not asked") };
        assert_eq!(
            LocalZone::from_env(Some("Europe/Berlin"), never).zone,
            Berlin
        );
        assert_eq!(
            LocalZone::from_env(Some(":Europe/Berlin"), never).zone,
            Berlin
        );
        assert_eq!(
            LocalZone::from_env(Some("/usr/share/zoneinfo/Europe/Berlin"), never).zone,
            Berlin
        );
        let unknown = LocalZone::from_env(Some("Nowhere/Place"), never);
        assert_eq!(unknown.zone, chrono_tz::UTC);
        assert_eq!(
            unknown.warning().as_deref(),
            Some(
                "warning: TZ=`Nowhere/Place` is not a known time zone, so UTC is used; set TZ to \
                 an IANA name such as `Europe/Berlin`, or pass --timezone"
            )
        );
        // Unset or empty: the system setting, else UTC, and no warning.
        let system = LocalZone::from_env(None, || Some("Europe/Berlin".into()));
        assert_eq!((system.zone, system.warning()), (Berlin, None));
        let none = LocalZone::from_env(Some(""), || None);
        assert_eq!((none.zone, none.warning()), (chrono_tz::UTC, None));
    }

    #[test]
    fn start_is_rfc3339_now_or_local_time_in_the_zone() {
        let now = utc("2026-01-01T00:00:00Z");
        let start = |text: &str| parse_start(text, now, Berlin);
        assert_eq!(start("now").unwrap(), now);
        assert_eq!(
            start("2026-01-05T10:00:00+02:00").unwrap(),
            utc("2026-01-05T08:00:00Z")
        );
        assert_eq!(
            start("2026-01-05T10:00:00").unwrap(),
            utc("2026-01-05T09:00:00Z")
        );
        assert_eq!(
            start("2026-07-05T10:00").unwrap(),
            utc("2026-07-05T08:00:00Z")
        );
        assert!(matches!(
            start("2026-01-05"),
            Err(OptionsError::Start { .. })
        ));
        let gap = start("2026-03-29T02:30:00").unwrap_err();
        assert_eq!(
            gap.to_string(),
            "--start: `2026-03-29T02:30:00` does not exist in Europe/Berlin (the clocks skip that \
             hour); give an offset, such as `2026-03-29T02:30:00+01:00`"
        );
        let twice = start("2026-10-25T02:30:00").unwrap_err();
        assert_eq!(
            twice.to_string(),
            "--start: `2026-10-25T02:30:00` happens twice in Europe/Berlin (the clocks go back); \
             give the offset: `2026-10-25T02:30:00+02:00` or `2026-10-25T02:30:00+01:00`"
        );
        assert_eq!(twice.exit_code(), exit_codes::USAGE);
    }
}
