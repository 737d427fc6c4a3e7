//! `--provider twilio`: Twilio Programmable Messaging.
//!
//! Follows <https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource>,
//! Twilio's error envelope <https://www.twilio.com/docs/usage/twilios-response>
//! (`{"code", "message", "more_info", "status"}`) and the error dictionary
//! (20003 authenticate, 21211 invalid `To`, 21602 body required, 21603
//! `From` required, 21604 `To` required, 20429 too many requests): a form
//! body `To`, `From` or `MessagingServiceSid`, `Body` on
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth
//! `AccountSid:AuthToken`; 201 with the Message resource (`sid` `SM...`,
//! `status` `queued`, or `accepted` through a messaging service). The
//! sandbox accepts any account SID as long as the path and the Basic user
//! agree; the token is what it checks. Twilio sends no rate-limit headers.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::super::ledger::{Receipt, Reply, Shared};
use super::personality::{
    Call, Personality, Submission, basic_credentials, form_pairs, form_value, message_to,
};
use super::reply;

pub(crate) struct Twilio;

fn error(status: StatusCode, code: u32, message: &str) -> Reply {
    reply::json(
        status,
        &json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16()
        }),
    )
}

fn invalid_to(to: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        21211,
        &format!("Invalid 'To' Phone Number: {to}"),
    )
}

/// A phone number Twilio could route: an optional channel prefix
/// (`whatsapp:`), then 7 to 15 digits with optional `+`, spaces, dashes and
/// parentheses.
fn is_phone_number(to: &str) -> bool {
    let number = to.split_once(':').map_or(to, |(_, number)| number);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
}

impl Personality for Twilio {
    fn paths(&self) -> &'static [&'static str] {
        &["/2010-04-01/Accounts/{account_sid}/Messages.json"]
    }

    fn shown_path(&self) -> &'static str {
        "/2010-04-01/Accounts/{account_sid}/Messages.json"
    }

    fn auth_hint(&self) -> &'static str {
        "Authorization: Basic ACCOUNT_SID:TOKEN"
    }

    fn authenticate(&self, call: &Call<'_>, shared: &Shared) -> Result<usize, Reply> {
        let path_sid = call.segment(2).unwrap_or("");
        basic_credentials(call.headers)
            .filter(|(sid, _)| sid == path_sid)
            .and_then(|(_, token)| shared.account_of(&token))
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"))
    }

    fn parse(&self, _call: &Call<'_>, body: &[u8]) -> Result<Submission, Reply> {
        // An unreadable form reads as an empty one: Twilio then names the
        // first required parameter missing, as here.
        let pairs = form_pairs(body).unwrap_or_default();
        let Some(to) = form_value(&pairs, "To") else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                21604,
                "A 'To' phone number is required.",
            ));
        };
        let from = form_value(&pairs, "From");
        let service = form_value(&pairs, "MessagingServiceSid");
        if from.is_none() && service.is_none() {
            return Err(error(
                StatusCode::BAD_REQUEST,
                21603,
                "A 'From' phone number is required.",
            ));
        }
        let Some(text) = form_value(&pairs, "Body") else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                21602,
                "Message body is required.",
            ));
        };
        if !is_phone_number(to) {
            return Err(invalid_to(to));
        }
        let mut submission = Submission::new(message_to(to, None, text));
        if let Some(from) = from {
            submission = submission.echoing("from", from);
        }
        if let Some(service) = service {
            submission = submission.echoing("messaging_service_sid", service);
        }
        Ok(submission)
    }

    fn rejected(&self, _call: &Call<'_>, recipient: &str) -> Reply {
        invalid_to(recipient)
    }

    fn throttled(&self, _retry_after: Duration) -> Reply {
        error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")
    }

    fn receipt(
        &self,
        call: &Call<'_>,
        submission: &Submission,
        sequence: u64,
        now: SystemTime,
    ) -> Receipt {
        let id = reply::sid("SM", sequence);
        let account_sid = call.segment(2).unwrap_or("");
        let nullable = |name: &str| {
            let value = submission.echoed(name);
            (!value.is_empty()).then(|| value.to_string())
        };
        let service = nullable("messaging_service_sid");
        // Through a messaging service without a From, Twilio first answers "accepted".
        let status = if service.is_some() && nullable("from").is_none() {
            "accepted"
        } else {
            "queued"
        };
        let created = DateTime::<Utc>::from(now).to_rfc2822();
        let reply = reply::json(
            StatusCode::CREATED,
            &json!({
                "sid": id,
                "account_sid": account_sid,
                "to": submission.recipient(),
                "from": nullable("from"),
                "messaging_service_sid": service,
                "body": submission.message.body,
                "status": status,
                "direction": "outbound-api",
                "num_segments": "1",
                "api_version": "2010-04-01",
                "date_created": created,
                "date_updated": created,
                "error_code": null,
                "error_message": null,
                "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages/{id}.json"),
            }),
        );
        Receipt { id, reply }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use serde_json::Value;

    const PATH: &str = "/2010-04-01/Accounts/AC123/Messages.json";

    fn parse(body: &str) -> Result<Submission, Reply> {
        let headers = HeaderMap::new();
        let call = Call {
            path: PATH,
            query: None,
            headers: &headers,
        };
        Twilio.parse(&call, body.as_bytes())
    }

    fn code(reply: &Reply) -> u64 {
        let value: Value = serde_json::from_str(&reply.body).unwrap();
        value["code"].as_u64().unwrap()
    }

    #[test]
    fn phone_numbers() {
        assert!(is_phone_number("+15558675310"));
        assert!(is_phone_number("whatsapp:+15558675310"));
        assert!(is_phone_number("+1 (555) 867-5310"));
        assert!(!is_phone_number("ada@example.com"));
        assert!(!is_phone_number("+1555"));
        assert!(!is_phone_number("+1234567890123456"));
    }

    #[test]
    fn missing_parameters_have_twilio_codes() {
        assert_eq!(code(&parse("From=%2B1555&Body=hi").unwrap_err()), 21604);
        assert_eq!(
            code(&parse("To=%2B15558675310&Body=hi").unwrap_err()),
            21603
        );
        assert_eq!(
            code(&parse("To=%2B15558675310&From=%2B15550000000").unwrap_err()),
            21602
        );
        assert_eq!(
            code(&parse("To=nobody&From=%2B15550000000&Body=hi").unwrap_err()),
            21211
        );
        assert_eq!(code(&parse("\u{0}").unwrap_err()), 21604);
    }

    #[test]
    fn a_message_resource_comes_back() {
        let headers = HeaderMap::new();
        let call = Call {
            path: PATH,
            query: None,
            headers: &headers,
        };
        let submission = parse("To=%2B15558675310&From=%2B15550000000&Body=Hi+there").unwrap();
        let receipt = Twilio.receipt(&call, &submission, 1, SystemTime::now());
        let value: Value = serde_json::from_str(&receipt.reply.body).unwrap();
        assert_eq!(receipt.reply.status, StatusCode::CREATED);
        assert_eq!(value["sid"], receipt.id.as_str());
        assert!(receipt.id.starts_with("SM") && receipt.id.len() == 34);
        assert_eq!(value["status"], "queued");
        assert_eq!(value["account_sid"], "AC123");
        assert_eq!(value["body"], "Hi there");
        let service = parse("To=%2B15558675310&MessagingServiceSid=MG1&Body=Hi").unwrap();
        let receipt = Twilio.receipt(&call, &service, 2, SystemTime::now());
        let value: Value = serde_json::from_str(&receipt.reply.body).unwrap();
        assert_eq!(value["status"], "accepted");
        assert_eq!(value["from"], Value::Null);
    }
}
