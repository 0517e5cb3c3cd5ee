use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{LeadQuery, LeadStats};

/// Admins only: the stat cards for the filters of `query` (its page cursor is ignored).
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` for a malformed filter or an
/// unknown team.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "leads/stats")]
pub async fn get_lead_stats(#[server(default)] query: LeadQuery) -> Result<LeadStats, AppError> {
    crate::access::as_admin(|state, _| async move {
        let filter = crate::services::leads::lead_filter(&state.db, &query).await?;
        Ok(crate::db::lead::lead_stats(&state.db, &filter).await?)
    })
    .await
}
