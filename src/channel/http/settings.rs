//! An account's channel settings checked against what the spec declares:
//! every required one given (an error says what to write), nothing
//! undeclared (a typo would otherwise be ignored), one of each `one_of`
//! group, and the defaults filled in.

use std::collections::BTreeMap;

use super::error::ChannelError;
use super::spec::HttpSpec;
use crate::input::suggest::closest;

impl HttpSpec {
    /// The declared defaults overlaid with the account's values, after
    /// checking that nothing required is missing and nothing unknown given.
    pub(super) fn merge_settings(
        &self,
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ChannelError> {
        let origin = &self.origin;
        let declared: Vec<&str> = self.setting_names().collect();
        for name in given.keys() {
            if !declared.contains(&name.as_str()) {
                let hint = closest(name, declared.iter().copied())
                    .map(|close| format!("; did you mean `{close}`?"))
                    .unwrap_or_default();
                let listing = if declared.is_empty() {
                    "it takes no settings".to_string()
                } else {
                    format!("its settings are {}", declared.join(", "))
                };
                return Err(ChannelError::Config {
                    location: origin.setting_location(name),
                    problem: format!(
                        "{} has no setting `{name}`; {listing}{hint}",
                        origin.subject()
                    ),
                });
            }
        }
        let mut merged = self.settings.optional.clone();
        for (name, required) in &self.settings.required {
            match given.get(name).filter(|value| !value.trim().is_empty()) {
                Some(value) => {
                    merged.insert(name.clone(), value.clone());
                }
                None => {
                    return Err(ChannelError::Config {
                        location: origin.setting_location(name),
                        problem: format!(
                            "{} needs {}; write {name} = \"{}\"",
                            origin.subject(),
                            required.means,
                            required.example
                        ),
                    });
                }
            }
        }
        for (name, value) in given {
            merged.insert(name.clone(), value.clone());
        }
        // `base_url` is joined with a path that starts with `/`.
        if let Some(base) = merged.get_mut("base_url") {
            let trimmed = base.trim().trim_end_matches('/').to_string();
            *base = trimmed;
        }
        for (index, group) in self.settings.one_of.iter().enumerate() {
            for name in group {
                if !self.settings.optional.contains_key(name) {
                    return Err(origin.error(
                        &format!("settings.one_of[{index}]"),
                        format!("`{name}` is not an optional setting"),
                    ));
                }
            }
            let any_given = group.iter().any(|name| {
                merged
                    .get(name)
                    .is_some_and(|value| !value.trim().is_empty())
            });
            if !any_given && let Some(first) = group.first() {
                return Err(ChannelError::Config {
                    location: origin.setting_location(first),
                    problem: format!(
                        "{} needs one of the settings {}",
                        origin.subject(),
                        group
                            .iter()
                            .map(|name| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(merged)
    }

    /// Settings that satisfy the declaration: each required setting's
    /// example, and the first of each `one_of` group left empty. For checking
    /// a spec before any account's settings are known.
    pub fn sample_settings(&self) -> BTreeMap<String, String> {
        let mut sample: BTreeMap<String, String> = self
            .settings
            .required
            .iter()
            .map(|(name, required)| (name.clone(), required.example.clone()))
            .collect();
        for group in &self.settings.one_of {
            let empty = group.iter().all(|name| {
                self.settings
                    .optional
                    .get(name)
                    .is_none_or(|value| value.trim().is_empty())
            });
            if let (true, Some(first)) = (empty, group.first()) {
                sample.insert(first.clone(), format!("sample-{first}"));
            }
        }
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::http::spec::SpecOrigin;
    use crate::channel::http::test_support::settings;

    fn preset_like(text: &str) -> HttpSpec {
        HttpSpec {
            origin: SpecOrigin::Preset {
                name: "mailgun".into(),
                key: "channel".into(),
            },
            ..HttpSpec::from_toml(text).unwrap()
        }
    }

    const MAILGUN_LIKE: &str = r#"
        url = "{{ settings.base_url }}/v3/{{ settings.domain }}/messages"
        auth = { kind = "basic", user = "api" }
        [settings.required.domain]
        means = "the sending domain"
        example = "mg.example.com"
        [settings.optional]
        base_url = "https://api.mailgun.net"
    "#;

    fn problem(spec: &HttpSpec, given: &[(&str, &str)]) -> String {
        spec.merge_settings(&settings(given))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_missing_required_setting_says_what_to_write() {
        assert_eq!(
            problem(&preset_like(MAILGUN_LIKE), &[]),
            "`channel.domain` in outreach.toml: the mailgun preset needs the sending domain; write domain = \"mg.example.com\""
        );
        assert!(problem(&preset_like(MAILGUN_LIKE), &[("domain", " ")]).contains("needs"));
    }

    #[test]
    fn an_unknown_setting_is_named_with_a_hint() {
        assert_eq!(
            problem(&preset_like(MAILGUN_LIKE), &[("domian", "x")]),
            "`channel.domian` in outreach.toml: the mailgun preset has no setting `domian`; its settings are domain, base_url; did you mean `domain`?"
        );
    }

    #[test]
    fn defaults_are_filled_in_and_base_url_trimmed() {
        let merged = preset_like(MAILGUN_LIKE)
            .merge_settings(&settings(&[
                ("domain", "mg.test"),
                ("base_url", "http://127.0.0.1:9/"),
            ]))
            .unwrap();
        assert_eq!(
            merged,
            settings(&[("base_url", "http://127.0.0.1:9"), ("domain", "mg.test")])
        );
        let defaults = preset_like(MAILGUN_LIKE)
            .merge_settings(&settings(&[("domain", "mg.test")]))
            .unwrap();
        assert_eq!(defaults["base_url"], "https://api.mailgun.net");
        assert_eq!(
            preset_like(MAILGUN_LIKE).sample_settings(),
            settings(&[("domain", "mg.example.com")])
        );
    }

    #[test]
    fn one_of_needs_one() {
        let text = r#"
            url = "https://x.test"
            auth = { kind = "none" }
            [settings]
            one_of = [["from", "service"]]
            [settings.optional]
            from = ""
            service = ""
        "#;
        let twilio_like = preset_like(text);
        assert!(
            problem(&twilio_like, &[]).ends_with("needs one of the settings `from`, `service`")
        );
        assert!(
            twilio_like
                .merge_settings(&settings(&[("service", "MG1")]))
                .is_ok()
        );
        assert_eq!(
            twilio_like.sample_settings(),
            settings(&[("from", "sample-from")])
        );
    }
}
