//! Which of a batch's new leads get their email and SMS, settled in the batch's own
//! transaction: an SMS only to a number the policy allows, and per channel one message to
//! a recipient within `NOTIFY_DEDUP_HOURS` (the recipients are claimed in
//! `notification_claim`). A message that does not go out is stored as `skipped` with the
//! lead, and no job is queued for it — so a repeated submission shows as a duplicate at
//! once, and the message jobs take no write of their own before they send.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sqlx::AnyConnection;

use crate::db::notify_claim::claim_recipients;
use crate::domain::delivery::Channel;
use crate::domain::lead_input::NewLead;
use crate::domain::notify_policy::{duplicate_reason, SmsPolicy};
use crate::time::millis;

/// What the intake does about one message of a new lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outgoing {
    /// Queue its job.
    Send,
    /// Store it as `skipped`: why (in Russian), and the lead messaged instead.
    Skip { reason: String, duplicate_of: Option<i64> },
}

/// The rules deciding which messages of new leads go out.
#[derive(Debug, Clone, Default)]
pub struct NotifyRules {
    /// One message per recipient and channel within this window (zero: no limit).
    pub dedup_window: Duration,
    /// The numbers an SMS may go to.
    pub sms_allowed: SmsPolicy,
}

/// The email and the SMS decision of each of `leads` (new, in id order), claiming the
/// recipients of the messages that go out.
pub(super) async fn settle(
    conn: &mut AnyConnection,
    rules: &NotifyRules,
    leads: &[(i64, &NewLead)],
    now_ms: i64,
) -> Result<Vec<(Outgoing, Outgoing)>, sqlx::Error> {
    let mut emails = vec![Outgoing::Send; leads.len()];
    let mut sms: Vec<Outgoing> = leads
        .iter()
        .map(|(_, lead)| match rules.sms_allowed.check(lead.phone.as_str()) {
            Ok(()) => Outgoing::Send,
            Err(reason) => Outgoing::Skip { reason, duplicate_of: None },
        })
        .collect();
    if !rules.dedup_window.is_zero() {
        let window_start = now_ms - millis(rules.dedup_window);
        let email_recipients: Vec<(i64, &str)> = leads.iter().map(|(id, lead)| (*id, lead.email.as_str())).collect();
        let held = claim_firsts(conn, Channel::Email, &email_recipients, &emails, now_ms, window_start).await?;
        mark_duplicates(&email_recipients, &held, &mut emails, rules.dedup_window);
        let phone_recipients: Vec<(i64, &str)> = leads.iter().map(|(id, lead)| (*id, lead.phone.as_str())).collect();
        let held = claim_firsts(conn, Channel::Sms, &phone_recipients, &sms, now_ms, window_start).await?;
        mark_duplicates(&phone_recipients, &held, &mut sms, rules.dedup_window);
    }
    Ok(emails.into_iter().zip(sms).collect())
}

/// Claims each recipient for the first of the batch's leads writing to it, and returns
/// the lead that holds every recipient written to.
async fn claim_firsts<'a>(
    conn: &mut AnyConnection,
    channel: Channel,
    recipients: &[(i64, &'a str)],
    outgoing: &[Outgoing],
    now_ms: i64,
    window_start: i64,
) -> Result<HashMap<&'a str, i64>, sqlx::Error> {
    let firsts = first_lead_per_recipient(recipients, outgoing);
    // Sorted by recipient (a BTreeMap): concurrent batches lock claims in one order.
    let claims: Vec<(&str, i64)> = firsts.iter().map(|(recipient, lead_id)| (*recipient, *lead_id)).collect();
    let lost = claim_recipients(conn, channel, &claims, now_ms, window_start).await?;
    Ok(firsts
        .into_iter()
        .map(|(recipient, first)| (recipient, lost.get(recipient).copied().unwrap_or(first)))
        .collect())
}

/// The first lead of the batch sending to each recipient.
fn first_lead_per_recipient<'a>(recipients: &[(i64, &'a str)], outgoing: &[Outgoing]) -> BTreeMap<&'a str, i64> {
    let mut firsts = BTreeMap::new();
    for ((lead_id, recipient), outgoing) in recipients.iter().zip(outgoing) {
        if *outgoing == Outgoing::Send {
            firsts.entry(*recipient).or_insert(*lead_id);
        }
    }
    firsts
}

/// Turns every message to a recipient held by another lead into a skipped duplicate.
fn mark_duplicates(recipients: &[(i64, &str)], held: &HashMap<&str, i64>, outgoing: &mut [Outgoing], window: Duration) {
    for ((lead_id, recipient), outgoing) in recipients.iter().zip(outgoing) {
        let Some(&holder) = held.get(recipient) else { continue };
        if *outgoing == Outgoing::Send && holder != *lead_id {
            *outgoing = Outgoing::Skip { reason: duplicate_reason(holder, window), duplicate_of: Some(holder) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_a_batch_the_first_lead_of_a_recipient_writes_and_the_rest_are_its_duplicates() {
        let recipients = [(10, "a@example.com"), (11, "b@example.com"), (12, "a@example.com"), (13, "a@example.com")];
        let mut outgoing = vec![Outgoing::Send; 4];
        outgoing[0] = Outgoing::Skip { reason: "policy".to_owned(), duplicate_of: None };
        let firsts = first_lead_per_recipient(&recipients, &outgoing);
        assert_eq!(firsts.into_iter().collect::<Vec<_>>(), [("a@example.com", 12), ("b@example.com", 11)]);

        let held = HashMap::from([("a@example.com", 12), ("b@example.com", 7)]);
        mark_duplicates(&recipients, &held, &mut outgoing, Duration::from_secs(24 * 3600));
        assert!(matches!(&outgoing[0], Outgoing::Skip { duplicate_of: None, .. }), "a policy skip stays");
        assert_eq!(outgoing[2], Outgoing::Send);
        for (index, holder) in [(1, 7), (3, 12)] {
            let Outgoing::Skip { reason, duplicate_of } = &outgoing[index] else { panic!("{index} is a duplicate") };
            assert_eq!(*duplicate_of, Some(holder));
            assert!(reason.contains(&format!("#{holder}")) && reason.contains("24 ч"), "{reason}");
        }
    }
}
