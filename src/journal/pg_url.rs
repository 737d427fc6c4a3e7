//! A PostgreSQL location as the user writes it (`postgres://user@host/db`),
//! and the same URL with its secret removed, which is the only form any
//! message, log line or saved option ever shows.
//!
//! A password may come from the URL in `OUTREACH_DATABASE_URL` or from
//! `PGPASSWORD`, both environment variables; a URL given as a flag with a
//! password in it is refused by the CLI (`state::location`), since flags
//! show up in process listings and shell history.

use std::fmt;

use crate::journal::error::JournalError;

/// A `postgres://` or `postgresql://` URL. `Debug` and `Display` show the
/// redacted form.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    url: String,
    redacted: String,
}

/// How the server's certificate is checked, as libpq's `sslmode` says:
/// `prefer` (the default) and `require` encrypt without checking who
/// answers; `verify-full` (and `verify-ca`, checked as strictly) also
/// verify the certificate and the host name against the system's trust
/// store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertCheck {
    None,
    Verify,
}

impl DbUrl {
    /// Whether `text` names a PostgreSQL database rather than a file.
    pub fn is_postgres(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    /// Checks the URL's form (without connecting).
    pub fn parse(text: &str) -> Result<DbUrl, JournalError> {
        let redacted = redact(text);
        if !DbUrl::is_postgres(text) {
            return Err(JournalError::BadDatabaseUrl {
                url: redacted,
                detail: "it must start with postgres:// or postgresql://".into(),
            });
        }
        let url = DbUrl {
            url: text.to_string(),
            redacted,
        };
        url.config()?;
        Ok(url)
    }

    /// The URL without its password: safe to print.
    pub fn redacted(&self) -> String {
        self.redacted.clone()
    }

    /// Whether the URL itself carries a password.
    pub fn has_password(&self) -> bool {
        self.config()
            .map(|config| config.get_password().is_some())
            .unwrap_or(false)
    }

    /// The same server and credentials, with `search_path` set to `schema`
    /// (tests give each run a schema of its own).
    pub fn with_schema(&self, schema: &str) -> DbUrl {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let suffix = format!("{separator}options=-csearch_path%3D{schema}");
        DbUrl {
            url: format!("{}{suffix}", self.url),
            redacted: format!("{}{suffix}", self.redacted),
        }
    }

    /// The driver's configuration; the password from `PGPASSWORD` when the
    /// URL has none.
    pub(crate) fn config(&self) -> Result<postgres::Config, JournalError> {
        let mut config: postgres::Config =
            driver_url(&self.url)
                .0
                .parse()
                .map_err(|error: postgres::Error| JournalError::BadDatabaseUrl {
                    url: self.redacted.clone(),
                    detail: error.to_string(),
                })?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_application_name().is_none() {
            config.application_name("outreach");
        }
        Ok(config)
    }
}

impl DbUrl {
    /// Whether the URL asks for the certificate to be verified.
    pub(crate) fn cert_check(&self) -> CertCheck {
        driver_url(&self.url).1
    }
}

/// The URL as the driver reads it (`verify-full`/`verify-ca` become
/// `require`, which the driver knows), and whether to verify.
fn driver_url(url: &str) -> (String, CertCheck) {
    let mut check = CertCheck::None;
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), check);
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair {
            "sslmode=verify-full" | "sslmode=verify-ca" => {
                check = CertCheck::Verify;
                "sslmode=require".to_string()
            }
            other => other.to_string(),
        })
        .collect();
    (format!("{base}?{}", pairs.join("&")), check)
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// `postgres://ann:secret@db/x?password=y&sslmode=require` ->
/// `postgres://ann@db/x?sslmode=require`.
pub fn redact(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    let key = pair.split('=').next().unwrap_or("");
                    !key.eq_ignore_ascii_case("password")
                })
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.example:5433/outreach?sslmode=require"),
            "postgres://ann@db.example:5433/outreach?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://ann@db/x?password=s3cret&sslmode=disable"),
            "postgresql://ann@db/x?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://ann:p@ss:w@rd@db/x"),
            "postgres://ann@db/x"
        );
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
        let url = DbUrl::parse("postgres://ann:s3cret@db/x").unwrap();
        assert!(url.has_password());
        assert!(!format!("{url} {url:?}").contains("s3cret"));
    }

    #[test]
    fn a_malformed_url_is_named_without_its_password() {
        let error = DbUrl::parse("postgres://ann:s3cret@db:notaport/x").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("postgres://ann@db:notaport/x"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(DbUrl::parse("mysql://db/x").is_err());
    }

    #[test]
    fn verify_full_is_require_with_a_checked_certificate() {
        let url = DbUrl::parse("postgres://ann@db/x?sslmode=verify-full").unwrap();
        assert_eq!(url.cert_check(), CertCheck::Verify);
        assert_eq!(
            url.config().unwrap().get_ssl_mode(),
            postgres::config::SslMode::Require
        );
        let url = DbUrl::parse("postgres://ann@db/x?sslmode=require").unwrap();
        assert_eq!(url.cert_check(), CertCheck::None);
        assert!(DbUrl::parse("postgres://ann@db/x?sslmode=sometimes").is_err());
    }

    #[test]
    fn a_schema_is_added_as_an_option() {
        let url = DbUrl::parse("postgres://ann@db/x").unwrap();
        let config = url.with_schema("t_1").config().unwrap();
        assert_eq!(config.get_options(), Some("-csearch_path=t_1"));
    }
}
