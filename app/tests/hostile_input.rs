//! Property tests of every parser that reads outside input: whatever bytes arrive, each
//! answers with a value or an error — never a panic, never a value that breaks its own
//! promise (a phone that is not E.164, a redirect that leaves the site).

use std::net::SocketAddr;

use http::HeaderMap;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{json, Value};

use app::domain::crm_webhook::parse_deal_changes;
use app::domain::email::Email;
use app::domain::lead_input::{LeadKind, NewLead};
use app::domain::phone::Phone;
use app::edge::client_addr::TrustedProxies;
use app::edge::local_path::local_redirect;
use app::providers::mobizon::{read_report, verify_webhook_sign};
use app::providers::resend::verify_svix_signature;

/// Any JSON value, nested a few levels, with strings that look like what landings send.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        "[0-9 +()-]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("email".to_owned()),
                    Just("phone".to_owned()),
                    Just("answers".to_owned()),
                    Just("utm_source".to_owned()),
                    Just("source".to_owned()),
                    ".{0,12}"
                ],
                inner,
                0..8
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Form bodies built from AmoCRM's own vocabulary, brackets raw or encoded, plus noise.
fn form_body() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("leads".to_owned()),
        Just("status".to_owned()),
        Just("update".to_owned()),
        Just("0".to_owned()),
        Just("id".to_owned()),
        Just("custom_fields".to_owned()),
        Just("values".to_owned()),
        Just("value".to_owned()),
        "[a-z0-9]{0,6}",
    ];
    let key =
        (segment.clone(), prop::collection::vec(segment, 0..14), any::<bool>()).prop_map(|(head, rest, encoded)| {
            let (open, close) = if encoded { ("%5B", "%5D") } else { ("[", "]") };
            rest.iter().fold(head, |key, part| format!("{key}{open}{part}{close}"))
        });
    let pair = (key, "[0-9a-zA-Z%+=&\\[\\]]{0,12}").prop_map(|(key, value)| format!("{key}={value}"));
    prop::collection::vec(pair, 0..12).prop_map(|pairs| pairs.join("&"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_parsed_phone_is_always_e164(input in ".{0,30}", digits in "[0-9 +()-]{0,20}") {
        for text in [input.as_str(), digits.as_str()] {
            if let Ok(phone) = Phone::parse(text) {
                let e164 = phone.as_str();
                prop_assert!(e164.starts_with('+') && e164.len() <= 16, "{e164}");
                prop_assert!(e164[1..].chars().all(|c| c.is_ascii_digit()), "{e164}");
            }
        }
    }

    #[test]
    fn a_parsed_email_has_one_at_and_no_spaces(input in ".{0,60}", shaped in "[a-zA-Z0-9._%+-]{0,12}@[a-zA-Z0-9.-]{0,12}") {
        for text in [input.as_str(), shaped.as_str()] {
            if let Ok(email) = Email::parse(text) {
                let address = email.as_str();
                prop_assert_eq!(address.matches('@').count(), 1, "{}", address);
                prop_assert!(!address.chars().any(char::is_whitespace), "{}", address);
            }
        }
    }

    #[test]
    fn any_json_is_a_lead_or_a_validation_error(body in json_value()) {
        for kind in [LeadKind::Proftest, LeadKind::Express] {
            if let Ok(lead) = NewLead::parse(kind, &body) {
                prop_assert!(lead.phone.as_str().starts_with('+'));
            }
        }
    }

    #[test]
    fn any_form_body_is_read_or_refused(body in form_body(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_deal_changes(body.as_bytes());
        let _ = parse_deal_changes(&bytes);
    }

    #[test]
    fn svix_headers_of_any_shape_never_verify_without_the_secret(
        id in ".{0,20}", timestamp in "[0-9]{0,12}|.{0,12}", signatures in "(v1,[A-Za-z0-9+/=]{0,50} ?){0,3}|.{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let secret = SecretString::from("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
        let now = timestamp.parse::<i64>().unwrap_or(0);
        prop_assert!(verify_svix_signature(&secret, &id, &timestamp, &signatures, &body, now).is_err());
    }

    #[test]
    fn mobizon_reports_of_any_shape_are_read_or_ignored(event in json_value(), status in ".{0,10}") {
        let _ = read_report(&event);
        let shaped = json!({ "eventType": "sms-delivery-report", "data": { "status": status, "messageId": event } });
        let _ = read_report(&shaped);
        prop_assert!(!verify_webhook_sign(&SecretString::from("s"), "1", "1", "1", &status));
    }

    #[test]
    fn a_followed_redirect_never_leaves_the_site(next in ".{0,40}", encoded in "(/|%2[fF]|%5[cC]|\\\\|%25|%09|[a-z.]){0,12}") {
        for text in [next.as_str(), encoded.as_str()] {
            if let Some(path) = local_redirect(text) {
                prop_assert!(path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'), "{path:?}");
                let decoded = path.replace("%2F", "/").replace("%2f", "/");
                prop_assert!(!decoded.starts_with("//"), "{path:?}");
            }
        }
    }

    #[test]
    fn forwarding_headers_of_any_shape_give_an_address(forwarded in ".{0,60}", xff in "[0-9a-f.:, \\[\\]]{0,60}") {
        let trusted = TrustedProxies::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let mut headers = HeaderMap::new();
        if let Ok(value) = forwarded.parse() {
            headers.insert("forwarded", value);
        }
        if let Ok(value) = xff.parse() {
            headers.insert("x-forwarded-for", value);
        }
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let _ = trusted.client_of(peer, &headers);
        let outside: SocketAddr = "203.0.113.1:9".parse().unwrap();
        prop_assert_eq!(trusted.client_of(outside, &headers).0, outside.ip());
    }
}
