//! The job queue's own guarantees: a finished job closes only under its own lease, a
//! runner that stops gives back what it claimed but never started, and a job that runs
//! longer than its lease keeps it: only a job whose process is gone is claimed again.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use app::db::job::{claim_jobs, enqueue_jobs, finish_jobs, Claimable, FinishedJob, NewJob};
use app::jobs::{SendLeadEmail, JOBS};
use app::queue::runner::JobRunner;
use app::queue::{Job, JobWaker};
use app::services::Services;
use app::supervisor::Supervisor;
use app::time::now_ms;

use crate::fakes::amocrm::{FakeAmoCrm, TOKEN};
use crate::fakes::resend::{self, FakeResend};
use crate::fakes::Mode;
use crate::helpers::{with_each_engine, TestApp};

/// A job row as this test reads it: id, status, lease owner, message id, finished at.
type JobState = (i64, String, Option<String>, Option<String>, Option<i64>);

fn email_job(key: &str) -> NewJob {
    NewJob {
        kind: SendLeadEmail::KIND,
        payload: r#"{"lead_id":1}"#.to_owned(),
        lead_id: None,
        idempotency_key: key.to_owned(),
        run_at: 0,
    }
}

with_each_engine!(a_finished_job_closes_only_while_its_worker_holds_the_lease, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let mut conn = app.db.write_connection().await.unwrap();
    enqueue_jobs(&mut conn, &[email_job("first"), email_job("second")], 0).await.unwrap();
    let claimed =
        claim_jobs(&mut conn, engine, Claimable::Due, "worker-a", SendLeadEmail::KIND, 2, 1, 1_000, &[]).await.unwrap();
    let [first, second] = [claimed[0].job_id, claimed[1].job_id];
    // Worker A's lease on the second job ran out and worker B claimed it.
    sqlx::query("UPDATE job SET lease_owner = 'worker-b' WHERE job_id = $1")
        .bind(second)
        .execute(&mut *conn)
        .await
        .unwrap();

    let finished = [
        FinishedJob { job_id: first, reference: Some("message-1"), at: 5 },
        FinishedJob { job_id: second, reference: Some("message-2"), at: 5 },
    ];
    let held = finish_jobs(&mut conn, &finished, "worker-a").await.unwrap();

    assert_eq!(held, vec![first], "only the job whose lease worker A still holds is closed");
    let rows: Vec<JobState> =
        sqlx::query_as("SELECT job_id, status, lease_owner, provider_message_id, finished_at FROM job ORDER BY job_id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (first, "done".to_owned(), None, Some("message-1".to_owned()), Some(5)),
            (second, "running".to_owned(), Some("worker-b".to_owned()), None, None),
        ]
    );
});

with_each_engine!(a_stopping_runner_gives_back_the_jobs_it_claimed_but_had_not_started, |engine| {
    let resend = FakeResend::start().await;
    resend.set_mode(Mode::Hang);
    let resend_url = resend.url();
    let Some(app) = TestApp::spawn_with(engine, move |config| {
        config.intake.notify_delay = Duration::ZERO;
        config.email.api_url = resend_url;
        config.email.api_key = Some(SecretString::from(resend::API_KEY));
        config.email.timeout = Duration::from_secs(60);
        config.jobs.email_concurrency = 2;
        config.jobs.shutdown_grace = Duration::from_millis(100);
    })
    .await
    else {
        return;
    };
    for n in 0..6 {
        app.post_lead(&format!("Тест {n}"), &format!("lead{n}@example.com"), &format!("+7701000000{n}")).await;
    }
    let stop = CancellationToken::new();
    let runner = app.jobs.start(stop.clone());
    // Two emails hang at the provider, holding both permits; the lane has claimed the
    // next ones ahead, waiting for a permit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let email_jobs = "SELECT COUNT(*) FROM job WHERE kind = 'send_lead_email'";
    while resend.requests() < 2 || app.count(&format!("{email_jobs} AND status = 'running'")).await < 4 {
        assert!(Instant::now() < deadline, "the runner did not claim ahead within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    stop.cancel();
    runner.await.unwrap();

    assert_eq!(resend.requests(), 2, "no email started after the stop");
    assert_eq!(
        app.count(&format!("{email_jobs} AND status = 'running'")).await,
        2,
        "the two hung sends keep their lease"
    );
    assert_eq!(
        app.count(&format!("{email_jobs} AND status = 'queued' AND attempts = 0 AND lease_owner IS NULL")).await,
        4,
        "the unstarted ones are queued again at once, their claim not counted as an attempt"
    );
});

with_each_engine!(a_push_that_outlives_its_lease_keeps_it_and_no_other_process_creates_a_second_deal, |engine| {
    let fake = FakeAmoCrm::start().await;
    // AmoCRM takes 2.5 s to process a create, and shows the contact only when it is done.
    fake.slow_creates(Duration::from_millis(2_500));
    let url = fake.url();
    let Some(app) = TestApp::spawn_with(engine, move |config| {
        config.crm.base_url = Some(url);
        config.crm.access_token = Some(SecretString::from(TOKEN));
        config.crm.timeout = Duration::from_secs(10);
        config.jobs.lease = Duration::from_secs(1);
        config.jobs.poll_interval = Duration::from_millis(50);
    })
    .await
    else {
        return;
    };
    app.post_lead_with(serde_json::json!({"email": "slow@example.com", "phone": "+77013334455"})).await;

    // This process works the queue, its heartbeat renewing the lease; another process with
    // its own clients looks for due and orphaned jobs all the while.
    let stop = CancellationToken::new();
    let runner = app.jobs.start(stop.clone());
    let other_services = Services::new(app.db.clone(), app.services.config.clone(), JobWaker::default());
    let config = app.services.config.jobs.clone();
    let other = JobRunner::new(other_services, &JOBS, config, JobWaker::default(), &Supervisor::default());
    let pushed = "SELECT COUNT(*) FROM job WHERE kind = 'push_lead_to_crm' AND status = 'done'";
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut taken_by_the_other = 0;
    while app.count(pushed).await == 0 {
        assert!(Instant::now() < deadline, "the push did not finish within 20 s");
        taken_by_the_other += other.run_due(now_ms()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    runner.await.unwrap();

    assert_eq!(taken_by_the_other, 0, "the lease stayed with the process that ran the push");
    assert_eq!(fake.counts(), (1, 1), "one contact, one deal");
    let attempts: i64 = sqlx::query_scalar("SELECT runs FROM job WHERE kind = 'push_lead_to_crm'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 1, "claimed once");
});
