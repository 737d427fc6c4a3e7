//! `report --format html` on a campaign in PostgreSQL, end to end.

use crate::common::Workdir;
use crate::common::postgres::TestSchema;
use crate::run;

/// The finished campaign `data` (six sent, one account): its page is
/// written beside the CSV as `data.report.html`, and to stdout with
/// `--output -`.
pub fn page_is_written_and_printed(work: &Workdir, db: &TestSchema) {
    // The HTML page, written beside the CSV as CAMPAIGN.report.html.
    let html = run(
        work,
        &[
            "report",
            "--state",
            &db.url_text,
            "--campaign",
            "data",
            "--format",
            "html",
        ],
    );
    html.expect_code(0);
    assert!(html.stderr.contains("Wrote data.report.html"), "{html}");
    let page = String::from_utf8(work.read("data.report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page:.200}");
    assert!(page.contains("<span class=\"badge done\">finished</span>"));
    assert!(
        page.contains("campaign `data` in postgres://"),
        "the journal is named"
    );
    assert_eq!(
        page.matches("<svg class=\"chart\"").count(),
        1,
        "one account"
    );
    assert!(page.contains(">6<"), "six sent");
    // To standard output with `--output -`, the same page but its time.
    let out = run(
        work,
        &[
            "report",
            "--state",
            &db.url_text,
            "--campaign",
            "data",
            "--format",
            "html",
            "--output",
            "-",
        ],
    );
    out.expect_code(0);
    assert!(out.stdout.starts_with("<!DOCTYPE html>"), "{out}");
    assert!(out.stdout.contains("<section id=\"timelines\">"), "{out}");
}
