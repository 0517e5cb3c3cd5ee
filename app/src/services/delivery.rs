//! Delivery status reports that arrive through the compatibility routes and are applied
//! at once.

use super::Services;
use crate::db::delivery::apply_status;
use crate::db::lead::lead_exists;
use crate::domain::delivery::StatusReport;
use crate::time::now_ms;

/// Applies `report` if it moves the lead's status forward. `None` when the lead does not
/// exist; `Some(false)` for a stale status.
pub async fn apply_report(services: &Services, report: &StatusReport) -> Result<Option<bool>, sqlx::Error> {
    let mut tx = services.db.begin_write().await?;
    if !lead_exists(&mut tx, report.lead_id).await? {
        return Ok(None);
    }
    let changed = apply_status(&mut tx, report, now_ms()).await?;
    tx.commit().await?;
    Ok(Some(changed))
}
