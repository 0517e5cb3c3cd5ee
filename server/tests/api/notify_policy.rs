//! The notification policy: SMS only to allowed numbers, and at most one email and one
//! SMS per recipient within `NOTIFY_DEDUP_HOURS`, against the fake Resend and Mobizon.

use std::time::Duration;

use serde_json::Value;

use app::domain::notify_policy::{SmsAllowance, SmsPolicy};
use app::models::Role;

use crate::delivery::{Setup, DELAY};
use crate::fakes::Mode;
use crate::helpers::with_each_engine;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Runs everything due after the notification delay (and its follow-ups).
async fn send_due(setup: &Setup) {
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
}

with_each_engine!(numbers_outside_the_policy_get_no_sms_but_are_stored_pushed_and_emailed, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let uk = setup.app.post_lead("Лид Британия", "uk@example.com", "+44 70 1234 5678").await;
    let landline = setup.app.post_lead("Лид Алматы", "landline@example.com", "+7 727 250 1234").await;
    let mobile = setup.app.post_lead("Лид Мобильный", "mobile@example.com", "+7 705 765 4321").await;
    send_due(&setup).await;

    let sms = setup.mobizon.accepted();
    assert_eq!(sms.iter().map(|sms| sms.to.as_str()).collect::<Vec<_>>(), ["77057654321"], "only the Kazakh mobile");
    assert_eq!(setup.resend.accepted().len(), 3, "every lead still gets its email");
    for (lead, number) in [(uk, "+447012345678"), (landline, "+77272501234")] {
        let status = setup.app.lead_status(lead).await;
        assert_eq!(status["sms"]["status"], "skipped", "{status}");
        let reason = status["sms"]["error"].as_str().unwrap();
        assert!(reason.contains(number) && reason.contains("SMS_ALLOWED_NUMBERS"), "{reason}");
        assert_eq!(status["email"]["status"], "sent");
    }
    assert_eq!(setup.app.lead_status(mobile).await["sms"]["status"], "sent");
    let pushes = format!("SELECT COUNT(*) FROM job WHERE kind = 'push_lead_to_crm' AND lead_id IN ({uk}, {landline})");
    assert_eq!(setup.app.count(&pushes).await, 2, "pushed to AmoCRM as any lead");
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);

    let token = setup.app.token_for("policy-admin", Role::Admin, None).await;
    let stats = &setup.app.get_json("/api/lead-tracking/leads", Some(&token)).await["stats"];
    assert_eq!((stats["sms_sent"].as_i64(), stats["sms_skipped"].as_i64()), (Some(1), Some(2)), "{stats}");
    assert_eq!((stats["email_sent"].as_i64(), stats["email_skipped"].as_i64()), (Some(3), Some(0)), "{stats}");
});

with_each_engine!(a_widened_policy_lets_a_country_or_a_prefix_through, |engine| {
    let Some(setup) = Setup::start_with(engine, |config| {
        let entries = ["KZ", "KG", "+4470"].map(|entry| SmsAllowance::parse(entry).unwrap());
        config.sms.allowed = SmsPolicy::new(entries.to_vec());
    })
    .await
    else {
        return;
    };
    setup.app.post_lead("Лид Британия", "uk@example.com", "+44 70 1234 5678").await;
    setup.app.post_lead("Лид Бишкек", "kg@example.com", "+996 555 123 456").await;
    let landline = setup.app.post_lead("Лид Бишкек 2", "kg2@example.com", "+996 312 123 456").await;
    send_due(&setup).await;
    let mut numbers: Vec<String> = setup.mobizon.accepted().into_iter().map(|sms| sms.to).collect();
    numbers.sort();
    assert_eq!(numbers, ["447012345678", "996555123456"]);
    assert_eq!(setup.app.lead_status(landline).await["sms"]["status"], "skipped");
});

with_each_engine!(three_submissions_by_one_person_are_three_leads_with_one_email_and_one_sms, |engine| {
    let Some(setup) = Setup::start_with(engine, |config| config.intake.notify_dedup = DAY).await else { return };
    let mut leads = Vec::new();
    for attempt in 1..=3 {
        // The same person, spelling the phone and email differently each time.
        let phone = ["+7 705 111 22 33", "87051112233", "7051112233"][attempt - 1];
        let email = ["same@example.com", "Same@Example.com", " same@example.com "][attempt - 1];
        leads.push(setup.app.post_lead(&format!("Лид {attempt}"), email, phone).await);
    }
    // Settled when stored: the repeats are skipped at once, and only the first has jobs.
    let repeat = setup.app.lead_status(leads[2]).await;
    assert_eq!((&repeat["email"]["status"], &repeat["sms"]["status"]), (&"skipped".into(), &"skipped".into()));
    assert_eq!(repeat["email"]["duplicateOf"], leads[0], "{repeat}");
    let message_jobs = "SELECT COUNT(*) FROM job WHERE kind IN ('send_lead_email', 'send_lead_sms')";
    assert_eq!(setup.app.count(message_jobs).await, 2, "one email and one SMS job");
    send_due(&setup).await;

    assert_eq!(setup.app.count("SELECT COUNT(*) FROM lead").await, 3);
    assert_eq!(setup.resend.accepted().len(), 1, "one email");
    assert_eq!(setup.mobizon.accepted().len(), 1, "one SMS");
    let statuses: Vec<Value> = futures_util::future::join_all(leads.iter().map(|&id| setup.app.lead_status(id))).await;
    for channel in ["email", "sms"] {
        let sent: Vec<i64> = leads
            .iter()
            .zip(&statuses)
            .filter(|(_, status)| status[channel]["status"] == "sent")
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(sent, [leads[0]], "{channel}: {statuses:?}");
        for status in statuses.iter().filter(|status| status[channel]["status"] != "sent") {
            assert_eq!(status[channel]["status"], "skipped", "{status}");
            assert_eq!(status[channel]["duplicateOf"], sent[0], "{status}");
            assert!(status[channel]["error"].as_str().unwrap().contains(&format!("#{}", sent[0])));
        }
    }
    let messaged: Vec<i64> = leads
        .iter()
        .zip(&statuses)
        .filter(|(_, status)| status["email"]["status"] == "sent")
        .map(|(id, _)| *id)
        .collect();
    let crm_pushes = "SELECT COUNT(*) FROM job WHERE kind = 'push_lead_to_crm'";
    assert_eq!(setup.app.count(crm_pushes).await, 3, "every lead is pushed");

    // The cards count skipped messages apart, and `#id` finds the lead that was messaged.
    let token = setup.app.token_for("dedup-admin", Role::Admin, None).await;
    let page = setup.app.get_json(&format!("/api/lead-tracking/leads?q=%23{}", messaged[0]), Some(&token)).await;
    assert_eq!(page["leads"].as_array().unwrap().len(), 1, "{page}");
    let stats = &setup.app.get_json("/api/lead-tracking/leads", Some(&token)).await["stats"];
    assert_eq!((stats["email_sent"].as_i64(), stats["email_skipped"].as_i64()), (Some(1), Some(2)), "{stats}");
    assert_eq!((stats["sms_sent"].as_i64(), stats["sms_skipped"].as_i64()), (Some(1), Some(2)), "{stats}");
});

with_each_engine!(the_window_ends_and_an_admin_resend_is_not_a_duplicate, |engine| {
    let Some(setup) = Setup::start_with(engine, |config| config.intake.notify_dedup = DAY).await else { return };
    let first = setup.app.post_lead("Лид", "again@example.com", "+77052223344").await;
    send_due(&setup).await;
    let second = setup.app.post_lead("Лид", "again@example.com", "+77052223344").await;
    send_due(&setup).await;
    assert_eq!(setup.app.lead_status(second).await["sms"]["duplicateOf"], first);
    assert_eq!(setup.mobizon.accepted().len(), 1);

    // An admin asks to send the skipped SMS: it goes.
    let token = setup.app.token_for("resend-admin", Role::Admin, None).await;
    let response = setup
        .app
        .client
        .post(setup.app.url("/api/jobs/resend"))
        .bearer_auth(&token)
        .form(&[("lead_id", second.to_string()), ("channel", "sms".to_owned())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    setup.app.run_jobs_after(Duration::from_secs(1)).await;
    assert_eq!(setup.mobizon.accepted().len(), 2, "the admin's resend is sent");
    assert_eq!(setup.app.lead_status(second).await["sms"]["status"], "sent");

    // A day later the person is written to again.
    sqlx::query("UPDATE notification_claim SET claimed_at = claimed_at - $1")
        .bind(i64::try_from(DAY.as_millis()).unwrap() + 1)
        .execute(setup.app.db.pool())
        .await
        .unwrap();
    let third = setup.app.post_lead("Лид", "again@example.com", "+77052223344").await;
    send_due(&setup).await;
    assert_eq!(setup.mobizon.accepted().len(), 3);
    assert_eq!(setup.app.lead_status(third).await["email"]["status"], "sent");
});

with_each_engine!(one_person_submitting_many_times_at_once_gets_one_email_and_one_sms, |engine| {
    let Some(setup) = Setup::start_with(engine, |config| config.intake.notify_dedup = DAY).await else { return };
    // Twenty at once share the writers' batches: duplicates inside one batch are settled too.
    let names: Vec<String> = (0..20).map(|n| format!("Лид {n}")).collect();
    let posts = names.iter().map(|name| setup.app.post_lead(name, "burst@example.com", "+77053334455"));
    let leads = futures_util::future::join_all(posts).await;
    // A second person in the same moment is not affected.
    let other = setup.app.post_lead("Другой", "other@example.com", "+77053334466").await;
    send_due(&setup).await;

    assert_eq!(setup.app.count("SELECT COUNT(*) FROM lead").await, 21);
    let mut emails: Vec<String> = setup.resend.accepted().into_iter().map(|email| email.to).collect();
    emails.sort();
    assert_eq!(emails, ["burst@example.com", "other@example.com"]);
    assert_eq!(setup.mobizon.accepted().len(), 2, "one SMS each");
    let first = *leads.iter().min().unwrap();
    for &lead in leads.iter().filter(|&&lead| lead != first) {
        let status = setup.app.lead_status(lead).await;
        for channel in ["email", "sms"] {
            assert_eq!(status[channel]["status"], "skipped", "{status}");
            assert_eq!(status[channel]["duplicateOf"], first, "the earliest lead is written to: {status}");
        }
    }
    assert_eq!(setup.app.lead_status(other).await["sms"]["status"], "sent");
    let token = setup.app.token_for("burst-admin", Role::Admin, None).await;
    let stats = &setup.app.get_json("/api/lead-tracking/leads", Some(&token)).await["stats"];
    assert_eq!((stats["email_sent"].as_i64(), stats["email_skipped"].as_i64()), (Some(2), Some(19)), "{stats}");
    assert_eq!((stats["sms_sent"].as_i64(), stats["sms_skipped"].as_i64()), (Some(2), Some(19)), "{stats}");
});

with_each_engine!(a_message_that_fails_for_good_lets_the_next_lead_of_the_person_be_written_to, |engine| {
    let Some(setup) = Setup::start_with(engine, |config| config.intake.notify_dedup = DAY).await else { return };
    // Resend refuses the message as invalid: the job fails for good.
    setup.resend.set_mode(Mode::Reject);
    let failed = setup.app.post_lead("Лид", "fails@example.com", "+77054445566").await;
    send_due(&setup).await;
    assert_eq!(setup.app.lead_status(failed).await["email"]["status"], "error");

    setup.resend.set_mode(Mode::Normal);
    let next = setup.app.post_lead("Лид", "fails@example.com", "+77054445566").await;
    send_due(&setup).await;
    let status = setup.app.lead_status(next).await;
    assert_eq!(status["email"]["status"], "sent", "{status}");
    assert_eq!(status["sms"]["status"], "skipped", "the SMS of the first went out: {status}");
});
