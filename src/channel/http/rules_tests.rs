use super::*;

fn origin() -> SpecOrigin {
    SpecOrigin::default()
}

fn response(toml_text: &str) -> Result<ResponseRules, ChannelError> {
    let spec: ResponseSpec = toml::from_str(toml_text).unwrap();
    read_response(&spec, &origin())
}

fn problem(toml_text: &str) -> String {
    response(toml_text).unwrap_err().to_string()
}

#[test]
fn statuses_read_as_ranges() {
    let status = |text: &str| read_status(&StatusSpec::Pattern(text.into()));
    assert_eq!(read_status(&StatusSpec::Code(420)), Ok((420, 420)));
    assert_eq!(status("4xx"), Ok((400, 499)));
    assert_eq!(status("500-504"), Ok((500, 504)));
    assert_eq!(status(" 429 "), Ok((429, 429)));
    assert!(status("6xx").is_err());
    assert!(status("504-500").unwrap_err().contains("empty range"));
    assert!(status("four").unwrap_err().contains("\"4xx\""));
    assert!(read_status(&StatusSpec::Code(42)).is_err());
}

#[test]
fn pointers_follow_rfc_6901() {
    assert!(check_pointer("").is_ok());
    assert!(check_pointer("/a~1b/~0c/0").is_ok());
    assert!(check_pointer("ok").unwrap_err().contains("`/ok`"));
    assert!(check_pointer("/a~2").is_err());
    assert!(check_pointer("/a~").is_err());
}

#[test]
fn defaults_read_the_id() {
    let rules = response("").unwrap();
    assert!(rules.rules.is_empty());
    assert!(matches!(&rules.message_id[..], [Source::Pointer(p)] if p == "/id"));
}

#[test]
fn each_mistake_names_its_key() {
    assert_eq!(
        problem("[[rules]]\nclass = \"delivered\""),
        "`channel.response.rules[0].class` in outreach.toml: `delivered` is not a class; write sent, throttled, auth_refused, transient or permanent"
    );
    assert!(
        problem("[[rules]]\nclass = \"sent\"\nstatus = [\"2x\"]")
            .starts_with("`channel.response.rules[0].status`")
    );
    assert!(
        problem("[[rules]]\nclass = \"sent\"\nbody = [{ pointer = \"ok\", equals = true }]")
            .starts_with("`channel.response.rules[0].body[0].pointer`")
    );
    assert!(
        problem("[[rules]]\nclass = \"sent\"\nbody = [{ pointer = \"/ok\" }]")
            .contains("exactly one of `equals`")
    );
    assert!(
        problem("[[rules]]\nclass = \"sent\"\nmaybe_delivered = true")
            .contains("only a `transient` rule")
    );
    assert_eq!(
        problem("wait = [{ header = \"Retry-After\", unit = \"minutes\" }]"),
        "`channel.response.wait[0].unit` in outreach.toml: `minutes` is not a unit; write seconds, milliseconds, epoch_seconds, epoch_milliseconds or http_date"
    );
    assert!(
        problem("wait = [{ pointer = \"retry_after\" }]")
            .starts_with("`channel.response.wait[0].pointer`")
    );
    assert!(problem("wait = [{ unit = \"seconds\" }]").contains("exactly one of `pointer`"));
    assert!(problem("wait = [{ until = \"tomorrow\" }]").contains("next_utc_midnight"));
    assert!(
        problem("message_id = [{ header = \"bad header\" }]")
            .starts_with("`channel.response.message_id[0].header`")
    );
    assert!(
        problem("error = [{ pointer = \"/a\", header = \"b\" }]")
            .starts_with("`channel.response.error[0]`")
    );
}

#[test]
fn rules_keep_their_order_and_waits() {
    let rules = response(
        r#"
        [[rules]]
        status = ["2xx"]
        body = [{ pointer = "/ok", equals = false }, { pointer = "/error", exists = true }]
        class = "transient"
        maybe_delivered = true
        wait = [{ until = "next_utc_midnight" }, { pointer = "/retry_after", unit = "milliseconds" }]
        "#,
    )
    .unwrap();
    let rule = &rules.rules[0];
    assert_eq!(rule.statuses, [(200, 299)]);
    assert_eq!(rule.conditions.len(), 2);
    assert_eq!(
        rule.class,
        ResponseClass::Transient {
            maybe_delivered: true
        }
    );
    let wait = rule.wait.as_ref().unwrap();
    assert!(matches!(wait[0], Wait::NextUtcMidnight));
    assert!(matches!(
        wait[1],
        Wait::Read {
            unit: WaitUnit::Milliseconds,
            ..
        }
    ));
}
