//! The `[response]` section read into rules a response can be checked
//! against: statuses as ranges, JSON pointers checked for syntax, classes
//! and units as enums. Every mistake is an error naming its key, found when
//! the spec is loaded rather than when the first response arrives.

use reqwest::header::HeaderName;

use super::error::ChannelError;
use super::spec::{
    ConditionSpec, ResponseSpec, RuleSpec, SourceSpec, SpecOrigin, StatusSpec, WaitSpec,
};
use crate::send::api::ResponseClass;

/// The `[response]` section, read.
#[derive(Debug, Clone)]
pub(crate) struct ResponseRules {
    pub rules: Vec<Rule>,
    pub message_id: Vec<Source>,
    pub error: Vec<Source>,
    pub wait: Vec<Wait>,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Inclusive ranges; empty matches any status.
    pub statuses: Vec<(u16, u16)>,
    pub conditions: Vec<Condition>,
    pub class: ResponseClass,
    pub wait: Option<Vec<Wait>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub pointer: String,
    pub test: Test,
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Equals(serde_json::Value),
    NotEquals(serde_json::Value),
    OneOf(Vec<serde_json::Value>),
    Exists(bool),
}

/// Where a value is in a response.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Pointer(String),
    Header(HeaderName),
}

#[derive(Debug, Clone)]
pub(crate) enum Wait {
    Read { from: Source, unit: WaitUnit },
    NextUtcMidnight,
}

/// How a wait value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitUnit {
    Seconds,
    Milliseconds,
    EpochSeconds,
    EpochMilliseconds,
    HttpDate,
}

const CLASSES: &str = "sent, throttled, auth_refused, transient or permanent";
const UNITS: &str = "seconds, milliseconds, epoch_seconds, epoch_milliseconds or http_date";

/// Reads `[response]`; `origin` names the keys in errors.
pub(crate) fn read_response(
    spec: &ResponseSpec,
    origin: &SpecOrigin,
) -> Result<ResponseRules, ChannelError> {
    let rules = spec
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| read_rule(rule, &format!("response.rules[{index}]"), origin))
        .collect::<Result<_, _>>()?;
    let message_id = match &spec.message_id {
        Some(sources) => read_sources(sources, "response.message_id", origin)?,
        None => vec![Source::Pointer("/id".to_string())],
    };
    Ok(ResponseRules {
        rules,
        message_id,
        error: read_sources(&spec.error, "response.error", origin)?,
        wait: read_waits(&spec.wait, "response.wait", origin)?,
    })
}

fn read_rule(rule: &RuleSpec, path: &str, origin: &SpecOrigin) -> Result<Rule, ChannelError> {
    let statuses = rule
        .status
        .iter()
        .map(|status| {
            read_status(status).map_err(|problem| origin.error(&format!("{path}.status"), problem))
        })
        .collect::<Result<_, _>>()?;
    let conditions = rule
        .body
        .iter()
        .enumerate()
        .map(|(index, condition)| {
            read_condition(condition, &format!("{path}.body[{index}]"), origin)
        })
        .collect::<Result<_, _>>()?;
    let class = match rule.class.as_str() {
        "sent" => ResponseClass::Sent,
        "throttled" => ResponseClass::Throttled,
        "auth_refused" => ResponseClass::AuthRefused,
        "permanent" => ResponseClass::Permanent,
        "transient" => ResponseClass::Transient {
            maybe_delivered: rule.maybe_delivered,
        },
        other => {
            return Err(origin.error(
                &format!("{path}.class"),
                format!("`{other}` is not a class; write {CLASSES}"),
            ));
        }
    };
    if rule.maybe_delivered && !matches!(class, ResponseClass::Transient { .. }) {
        return Err(origin.error(
            &format!("{path}.maybe_delivered"),
            "only a `transient` rule can say the message may have been delivered",
        ));
    }
    let wait = match &rule.wait {
        Some(waits) => Some(read_waits(waits, &format!("{path}.wait"), origin)?),
        None => None,
    };
    Ok(Rule {
        statuses,
        conditions,
        class,
        wait,
    })
}

/// `429`, `"4xx"` or `"500-599"` as an inclusive range.
fn read_status(status: &StatusSpec) -> Result<(u16, u16), String> {
    let code = |value: i64| -> Result<u16, String> {
        u16::try_from(value)
            .ok()
            .filter(|code| (100..=599).contains(code))
            .ok_or_else(|| format!("{value} is not an HTTP status (100 to 599)"))
    };
    match status {
        StatusSpec::Code(value) => code(*value).map(|code| (code, code)),
        StatusSpec::Pattern(text) => {
            let text = text.trim();
            let bad = || format!("`{text}` is not a status; write 429, \"4xx\" or \"500-599\"");
            if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
                let digit: i64 = class.parse().map_err(|_| bad())?;
                let first = code(digit * 100).map_err(|_| bad())?;
                return Ok((first, first + 99));
            }
            if let Some((low, high)) = text.split_once('-') {
                let low = code(low.trim().parse().map_err(|_| bad())?)?;
                let high = code(high.trim().parse().map_err(|_| bad())?)?;
                if low > high {
                    return Err(format!("`{text}` is an empty range"));
                }
                return Ok((low, high));
            }
            code(text.parse().map_err(|_| bad())?).map(|code| (code, code))
        }
    }
}

fn read_condition(
    condition: &ConditionSpec,
    path: &str,
    origin: &SpecOrigin,
) -> Result<Condition, ChannelError> {
    check_pointer(&condition.pointer)
        .map_err(|problem| origin.error(&format!("{path}.pointer"), problem))?;
    let mut tests = Vec::new();
    if let Some(value) = &condition.equals {
        tests.push(Test::Equals(value.clone()));
    }
    if let Some(value) = &condition.not_equals {
        tests.push(Test::NotEquals(value.clone()));
    }
    if let Some(values) = &condition.one_of {
        tests.push(Test::OneOf(values.clone()));
    }
    if let Some(exists) = condition.exists {
        tests.push(Test::Exists(exists));
    }
    let test = tests.pop().filter(|_| tests.is_empty()).ok_or_else(|| {
        origin.error(
            path,
            "give exactly one of `equals`, `not_equals`, `in` and `exists`",
        )
    })?;
    Ok(Condition {
        pointer: condition.pointer.clone(),
        test,
    })
}

/// RFC 6901: empty (the whole document) or `/`-separated tokens in which
/// `~` is only ever `~0` or `~1`.
pub(crate) fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "`{pointer}` is not a JSON pointer: it starts with `/` (`/{pointer}`)"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "`{pointer}` is not a JSON pointer: `~` is written `~0` and `/` in a name `~1`"
            ));
        }
    }
    Ok(())
}

fn read_source(
    source: &SourceSpec,
    path: &str,
    origin: &SpecOrigin,
) -> Result<Source, ChannelError> {
    match (&source.pointer, &source.header) {
        (Some(pointer), None) => {
            check_pointer(pointer)
                .map_err(|problem| origin.error(&format!("{path}.pointer"), problem))?;
            Ok(Source::Pointer(pointer.clone()))
        }
        (None, Some(header)) => Ok(Source::Header(read_header_name(header, path, origin)?)),
        _ => Err(origin.error(path, "give exactly one of `pointer` and `header`")),
    }
}

fn read_header_name(
    name: &str,
    path: &str,
    origin: &SpecOrigin,
) -> Result<HeaderName, ChannelError> {
    HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        origin.error(
            &format!("{path}.header"),
            format!("`{name}` is not a header name"),
        )
    })
}

fn read_sources(
    sources: &[SourceSpec],
    path: &str,
    origin: &SpecOrigin,
) -> Result<Vec<Source>, ChannelError> {
    sources
        .iter()
        .enumerate()
        .map(|(index, source)| read_source(source, &format!("{path}[{index}]"), origin))
        .collect()
}

fn read_waits(
    waits: &[WaitSpec],
    path: &str,
    origin: &SpecOrigin,
) -> Result<Vec<Wait>, ChannelError> {
    waits
        .iter()
        .enumerate()
        .map(|(index, wait)| read_wait(wait, &format!("{path}[{index}]"), origin))
        .collect()
}

fn read_wait(wait: &WaitSpec, path: &str, origin: &SpecOrigin) -> Result<Wait, ChannelError> {
    if let Some(until) = &wait.until {
        if wait.pointer.is_some() || wait.header.is_some() || wait.unit.is_some() {
            return Err(origin.error(
                path,
                "`until` stands alone: no `pointer`, `header` or `unit` beside it",
            ));
        }
        return match until.as_str() {
            "next_utc_midnight" => Ok(Wait::NextUtcMidnight),
            other => Err(origin.error(
                &format!("{path}.until"),
                format!("`{other}` is not known; write \"next_utc_midnight\""),
            )),
        };
    }
    let unit = match wait.unit.as_deref().unwrap_or("seconds") {
        "seconds" => WaitUnit::Seconds,
        "milliseconds" => WaitUnit::Milliseconds,
        "epoch_seconds" => WaitUnit::EpochSeconds,
        "epoch_milliseconds" => WaitUnit::EpochMilliseconds,
        "http_date" => WaitUnit::HttpDate,
        other => {
            return Err(origin.error(
                &format!("{path}.unit"),
                format!("`{other}` is not a unit; write {UNITS}"),
            ));
        }
    };
    let from = match (&wait.pointer, &wait.header) {
        (Some(_), None) | (None, Some(_)) => {
            let source = SourceSpec {
                pointer: wait.pointer.clone(),
                header: wait.header.clone(),
            };
            read_source(&source, path, origin)?
        }
        _ => {
            return Err(origin.error(
                path,
                "give exactly one of `pointer` and `header` (or `until` alone)",
            ));
        }
    };
    Ok(Wait::Read { from, unit })
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
