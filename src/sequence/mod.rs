//! Sequences: a first message, then follow-ups days later, each step due
//! `after` the previous one actually went out to that person.
//!
//! A step is one more journal message for the same recipient (its `step`
//! number), rendered from the step's template and placed by the same slot
//! generator as every other message, so pacing, windows, daily caps and the
//! rolling-window invariant hold for all steps together.
//!
//! - [`delay`]: a step's `after` (`3d`, `2 business days`) and when it is due.
//! - [`queue`]: one account's first messages and follow-ups in the order
//!   they go out; the planner and the executor share it.

mod delay;
mod queue;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use delay::StepDelay;
pub use queue::{Next, StepQueue};

/// The most steps a sequence may have.
pub const MAX_STEPS: usize = 20;

/// One `[[steps]]` table as written in outreach.toml.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// The step's template file (relative to outreach.toml).
    pub template: Option<String>,
    /// How long after the previous step this one is due (follow-ups only).
    pub after: Option<String>,
}

/// A checked step. Step 1 has no delay; every later step has a template
/// and a delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The template file, absolute; None for step 1 when the campaign's
    /// default template or the CSV chooses it.
    pub template: Option<PathBuf>,
    pub after: Option<StepDelay>,
}

/// A `[[steps]]` entry that cannot be used; `key` names it (`steps[2].after`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {detail}")]
pub struct StepError {
    pub key: String,
    pub detail: String,
}

/// Check the `[[steps]]` of a config whose relative paths start at `base`.
/// No steps: an empty list (one message per recipient, as always).
pub fn resolve(configs: &[StepConfig], base: &Path) -> Result<Vec<Step>, StepError> {
    if configs.len() > MAX_STEPS {
        return Err(StepError {
            key: "steps".into(),
            detail: format!(
                "{} steps; a sequence has at most {MAX_STEPS}",
                configs.len()
            ),
        });
    }
    configs
        .iter()
        .enumerate()
        .map(|(index, config)| {
            let number = index + 1;
            let key = |field: &str| format!("steps[{number}].{field}");
            let template = config.template.as_deref().map(|file| base.join(file));
            let after = match (&config.after, number) {
                (Some(_), 1) => {
                    return Err(StepError {
                        key: key("after"),
                        detail: "the first step goes out as planned; `after` is for follow-ups \
                                 (steps 2 and later)"
                            .into(),
                    });
                }
                (None, 1) => None,
                (None, _) => {
                    return Err(StepError {
                        key: key("after"),
                        detail: format!(
                            "step {number} needs `after`, how long after step {} it is due, \
                             such as `after = \"3d\"` or `after = \"2 business days\"`",
                            number - 1
                        ),
                    });
                }
                (Some(text), _) => Some(StepDelay::parse(text).map_err(|detail| StepError {
                    key: key("after"),
                    detail,
                })?),
            };
            if number > 1 && template.is_none() {
                return Err(StepError {
                    key: key("template"),
                    detail: format!(
                        "step {number} needs a template file, such as `template = \"followup.txt\"`"
                    ),
                });
            }
            Ok(Step { template, after })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(template: Option<&str>, after: Option<&str>) -> StepConfig {
        StepConfig {
            template: template.map(str::to_string),
            after: after.map(str::to_string),
        }
    }

    #[test]
    fn a_two_step_sequence_resolves_paths_and_delays() {
        let steps = resolve(
            &[
                step(Some("intro.txt"), None),
                step(Some("f.txt"), Some("3d")),
            ],
            Path::new("/cfg"),
        )
        .unwrap();
        assert_eq!(
            steps[0].template.as_deref(),
            Some(Path::new("/cfg/intro.txt"))
        );
        assert_eq!(steps[0].after, None);
        assert_eq!(steps[1].after, Some(StepDelay::Elapsed(3 * 86_400_000)));
    }

    #[test]
    fn errors_name_the_key() {
        let base = Path::new("/cfg");
        let error = resolve(&[step(None, Some("1d"))], base).unwrap_err();
        assert_eq!(error.key, "steps[1].after");
        let error = resolve(&[step(None, None), step(Some("f.txt"), None)], base).unwrap_err();
        assert_eq!(error.key, "steps[2].after");
        let error = resolve(&[step(None, None), step(None, Some("1d"))], base).unwrap_err();
        assert_eq!(error.key, "steps[2].template");
        let error =
            resolve(&[step(None, None), step(Some("f.txt"), Some("-2d"))], base).unwrap_err();
        assert_eq!(error.key, "steps[2].after");
        assert!(
            error.to_string().starts_with("`steps[2].after`: `-2d`"),
            "{error}"
        );
    }

    #[test]
    fn no_steps_is_no_sequence() {
        assert!(resolve(&[], Path::new(".")).unwrap().is_empty());
    }
}
