//! What `send --dry-run` learns of a PostgreSQL database without changing
//! it: whether outreach's tables are there and in which schema version, and
//! whether a campaign of a given name exists. Opening a store would migrate
//! the schema (`PgStore::create`) or refuse an older one
//! (`PgStore::open_read_only`); this probe does neither, so a dry run
//! leaves the database exactly as it found it.

use crate::journal::error::JournalError;
use crate::journal::pg_conn::PgConn;
use crate::journal::pg_schema as schema;
use crate::journal::pg_url::DbUrl;

/// What a database holds for a `send` of the campaign `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgProbe {
    /// outreach's schema version there: 0 when it has none of its tables.
    pub version: i64,
    /// Whether a campaign of that name exists.
    pub campaign_exists: bool,
}

/// Connects to `url` and reads, never writes: an unreachable server and a
/// schema newer than this build are errors ([`JournalError::Unreachable`],
/// [`JournalError::DatabaseNewer`]), an older one is reported as found.
pub fn probe(url: &DbUrl, name: &str) -> Result<PgProbe, JournalError> {
    let conn = PgConn::connect(url)?;
    let location = url.redacted();
    let name = name.to_string();
    conn.run(move |session| {
        let version = schema::version(&mut session.client, &location)?;
        if version == 0 {
            return Ok(PgProbe {
                version,
                campaign_exists: false,
            });
        }
        let campaign_exists = session
            .client
            .query_opt("SELECT 1 FROM campaigns WHERE name = $1", &[&name])
            .map_err(JournalError::pg(&location, "finding the campaign"))?
            .is_some();
        Ok(PgProbe {
            version,
            campaign_exists,
        })
    })
}
