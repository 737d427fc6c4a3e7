//! Every `imap` setting and its error.

use super::*;

fn choice(text: &str) -> ChannelChoice {
    ChannelChoice::from_table(Some(&text.parse().unwrap())).unwrap()
}

const SMTP: &str = "type = \"smtp\"\nhost = \"smtp.gmail.com\"\nusername = \"me@acme.test\"\nfrom = \"me@acme.test\"\n";

fn error_of(imap: &str) -> ImapSettingsError {
    from_choice(
        &choice(&format!("{SMTP}imap = {imap}")),
        "accounts.alice.channel",
    )
    .expect_err(imap)
}

#[test]
fn defaults_come_from_the_smtp_table_and_the_usual_ports() {
    let settings = from_choice(
        &choice(&format!("{SMTP}imap = {{ host = \"imap.gmail.com\" }}")),
        "channel",
    )
    .unwrap()
    .unwrap();
    assert_eq!(settings.port, 993);
    assert_eq!(settings.tls, TlsMode::Tls);
    assert_eq!(settings.username, "me@acme.test");
    assert_eq!(settings.auth, AuthMethod::Password);
    assert_eq!(settings.secret_env, None);
    assert_eq!(settings.mailbox, "INBOX");
    assert_eq!(settings.poll_interval, Duration::from_secs(60));
    assert_eq!(settings.label(), "imap.gmail.com:993");
    let starttls = from_choice(
        &choice(&format!(
            "{SMTP}auth = \"xoauth2\"\nimap = {{ host = \"imap.acme.test\", tls = \"starttls\", token_env = \"IMAP_TOKEN\", poll_interval = \"5m\", mailbox = \"Replies\" }}"
        )),
        "channel",
    )
    .unwrap()
    .unwrap();
    assert_eq!(starttls.port, 143);
    assert_eq!(starttls.auth, AuthMethod::Xoauth2);
    assert_eq!(starttls.secret_env.as_deref(), Some("IMAP_TOKEN"));
    assert_eq!(starttls.poll_interval, Duration::from_secs(300));
    assert_eq!(starttls.mailbox, "Replies");
}

#[test]
fn no_table_is_no_inbox() {
    assert_eq!(from_choice(&choice(SMTP), "channel").unwrap(), None);
}

#[test]
fn every_error_names_its_key() {
    let k = "accounts.alice.channel.imap";
    let cases = [
        ("{ host = \"\" }", format!("{k}.host")),
        ("{ host = \"imaps://imap.gmail.com\" }", format!("{k}.host")),
        ("{ host = \"imap.gmail.com:993\" }", format!("{k}.host")),
        (
            "{ host = \"imap.gmail.com\", port = 0 }",
            format!("{k}.port"),
        ),
        (
            "{ host = \"imap.gmail.com\", tls = \"none\" }",
            format!("{k}.tls"),
        ),
        (
            "{ host = \"imap.gmail.com\", auth = \"none\" }",
            format!("{k}.auth"),
        ),
        (
            "{ host = \"imap.gmail.com\", password_env = \"my secret!\" }",
            format!("{k}.password_env"),
        ),
        (
            "{ host = \"imap.gmail.com\", token_env = \"T\" }",
            format!("{k}.token_env"),
        ),
        (
            "{ host = \"imap.gmail.com\", auth = \"xoauth2\", password_env = \"P\" }",
            format!("{k}.password_env"),
        ),
        (
            "{ host = \"imap.gmail.com\", mailbox = \" \" }",
            format!("{k}.mailbox"),
        ),
        (
            "{ host = \"imap.gmail.com\", poll_interval = \"soon\" }",
            format!("{k}.poll_interval"),
        ),
        (
            "{ host = \"imap.gmail.com\", poll_interval = \"100ms\" }",
            format!("{k}.poll_interval"),
        ),
    ];
    for (imap, key) in cases {
        let error = error_of(imap);
        assert_eq!(error.key, key, "{imap}: {error}");
        assert!(
            error.to_string().starts_with(&format!("`{key}`: ")),
            "{error}"
        );
    }
    // Unknown keys and wrong types name the table.
    let typo = error_of("{ host = \"imap.gmail.com\", pasword_env = \"P\" }");
    assert_eq!(typo.key, k);
    assert!(typo.problem.contains("pasword_env"), "{typo}");
    let not_smtp = from_choice(
        &choice("type = \"slack\"\nimap = { host = \"x\" }"),
        "channel",
    )
    .unwrap_err();
    assert_eq!(not_smtp.key, "channel.imap");
}

#[test]
fn a_login_is_needed_and_plain_text_only_on_loopback() {
    let no_user = choice(
        "type = \"smtp\"\nhost = \"h\"\nauth = \"none\"\nfrom = \"a@b.test\"\nimap = { host = \"imap.b.test\" }",
    );
    let error = from_choice(&no_user, "channel").unwrap_err();
    assert_eq!(error.key, "channel.imap.username");
    let local = from_choice(
        &choice(&format!(
            "{SMTP}imap = {{ host = \"127.0.0.1\", tls = \"none\", port = 1143 }}"
        )),
        "channel",
    )
    .unwrap()
    .unwrap();
    assert_eq!(local.port, 1143);
}

#[test]
fn a_relative_certificate_is_read_from_the_config_folder() {
    let mut table: toml::Table = "imap = { host = \"h\", root_certificate = \"ca.pem\" }"
        .parse()
        .unwrap();
    with_paths_from(&mut table, Path::new("/etc/outreach"));
    assert_eq!(
        table["imap"]["root_certificate"].as_str(),
        Some("/etc/outreach/ca.pem")
    );
}
