//! What the server counts for Prometheus (`docs/deploy.md`, "Metrics"). Until the
//! server installs a recorder (`METRICS_ADDR` or `METRICS_TOKEN` is set) every call here
//! is a cheap no-op. Counters move where things happen; the gauges of the queue, the
//! integrations and the pool are read when Prometheus scrapes.

use metrics::{counter, gauge, histogram};

use crate::db::job::queue_depths;
use crate::domain::integration::Integration;
use crate::services::health::integration_health;
use crate::services::Services;
use crate::time::now_ms;

/// A submission was accepted: `stored`, `repeated` (an idempotency key seen before) or
/// `spooled` (the database could not take it in time).
pub fn lead_accepted(outcome: &'static str) {
    counter!("leadtrack_leads_accepted_total", "outcome" => outcome).increment(1);
}

/// A submission was refused: `invalid`, `rate_limited` or `unavailable`.
pub fn lead_refused(reason: &'static str) {
    counter!("leadtrack_leads_refused_total", "reason" => reason).increment(1);
}

/// An intake writer committed `size` leads in one transaction.
pub fn intake_batch(size: usize) {
    histogram!("leadtrack_intake_batch_size").record(size as f64);
}

/// A run of a job of `kind` was recorded: `done`, `again` (it asked to run later),
/// `retried`, `refused` (its integration paused) or `failed`.
pub fn job_finished(kind: &'static str, outcome: &'static str) {
    counter!("leadtrack_jobs_finished_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// Reads the gauges: the queue of each kind (queued, due, age of the oldest due job), each
/// integration's state, and the database pool's connections.
pub async fn refresh_gauges(services: &Services) -> Result<(), sqlx::Error> {
    let pool = services.db.pool();
    let idle = pool.num_idle() as f64;
    gauge!("leadtrack_db_pool_connections", "state" => "idle").set(idle);
    gauge!("leadtrack_db_pool_connections", "state" => "in_use").set(f64::from(pool.size()) - idle);

    let now = now_ms();
    let depths = {
        let mut conn = pool.acquire().await?;
        queue_depths(&mut conn, now).await?
    };
    for kind in crate::jobs::JOBS.kinds().iter().map(|kind| kind.kind) {
        let depth = depths.iter().find(|depth| depth.kind == kind);
        let (queued, due) = depth.map_or((0, 0), |depth| (depth.queued, depth.due));
        let oldest_due_secs =
            depth.and_then(|depth| depth.oldest_due_at).map_or(0.0, |at| (now - at).max(0) as f64 / 1e3);
        gauge!("leadtrack_jobs_queued", "kind" => kind).set(queued as f64);
        gauge!("leadtrack_jobs_due", "kind" => kind).set(due as f64);
        gauge!("leadtrack_jobs_oldest_due_seconds", "kind" => kind).set(oldest_due_secs);
    }

    // The health view lists the integrations in `Integration::ALL`'s order.
    for (integration, health) in Integration::ALL.into_iter().zip(integration_health(services).await?) {
        for state in ["ok", "degraded", "paused"] {
            let current = if health.state == state { 1.0 } else { 0.0 };
            gauge!("leadtrack_integration_state", "integration" => integration.as_str(), "state" => state).set(current);
        }
    }
    Ok(())
}
