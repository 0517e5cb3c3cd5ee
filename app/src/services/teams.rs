//! The team constructor's writes: saving and archiving teams, which re-attribute every
//! stored lead in the background when the rules change, and that work's progress.

use super::Services;
use crate::db::job::{enqueue_jobs, open_job_payload};
use crate::db::team::{attribution_rules, insert_team, max_lead_id, set_team_archived, update_team};
use crate::domain::team_input::TeamFields;
use crate::error::AppError;
use crate::jobs::ReattributeLeads;
use crate::queue::Job;
use crate::time::now_ms;

/// Creates (`team_id: None`) or updates a team and, when its rules changed, queues the
/// re-attribution of every lead, in one transaction. Returns the team's id.
///
/// Errors: `NotFound`, `Conflict` (the name is taken).
pub async fn save_team(services: &Services, team_id: Option<i64>, fields: &TeamFields) -> Result<i64, AppError> {
    let now = now_ms();
    let team_id = {
        let mut tx = services.db.begin_write().await?;
        let before = attribution_rules(&mut tx).await?;
        let saved = match team_id {
            Some(team_id) => update_team(&mut tx, team_id, fields, now).await.map(|found| found.then_some(team_id)),
            None => insert_team(&mut tx, fields, now).await.map(Some),
        };
        let team_id = match saved {
            Ok(Some(team_id)) => team_id,
            Ok(None) => return Err(AppError::NotFound),
            Err(error) if is_unique_violation(&error) => {
                return Err(AppError::Conflict(format!("команда «{}» уже есть", fields.name)))
            }
            Err(error) => return Err(error.into()),
        };
        if attribution_rules(&mut tx).await? != before {
            enqueue_jobs(&mut tx, &[ReattributeLeads::from_start(now)], now).await?;
        }
        tx.commit().await?;
        team_id
    };
    tracing::info!(team.id = team_id, "team saved");
    services.waker.wake();
    Ok(team_id)
}

/// Archives a team (its leads go to whatever rule matches next) or brings it back, and
/// queues the re-attribution of every lead.
///
/// Errors: `NotFound`.
pub async fn archive_team(services: &Services, team_id: i64, archived: bool) -> Result<(), AppError> {
    let now = now_ms();
    {
        let mut tx = services.db.begin_write().await?;
        if !set_team_archived(&mut tx, team_id, archived, now).await? {
            return Err(AppError::NotFound);
        }
        enqueue_jobs(&mut tx, &[ReattributeLeads::from_start(now)], now).await?;
        tx.commit().await?;
    }
    tracing::info!(team.id = team_id, archived, "team archive state changed");
    services.waker.wake();
    Ok(())
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.is_unique_violation())
}

/// How far a running re-attribution got, in percent of the lead table; `None` when none runs.
pub async fn reattribution_percent(conn: &mut sqlx::AnyConnection) -> Result<Option<i64>, sqlx::Error> {
    let Some(payload) = open_job_payload(conn, ReattributeLeads::KIND).await? else {
        return Ok(None);
    };
    let job = serde_json::from_str::<ReattributeLeads>(&payload).unwrap_or_default();
    if job.leads_done {
        return Ok(Some(99));
    }
    let last = max_lead_id(conn).await?;
    Ok(Some(if last == 0 { 99 } else { (job.after_lead_id * 100 / last).clamp(0, 99) }))
}
