use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{FunnelQuery, FunnelReport};

/// Signed-in users: the four-stage funnel of a team (or all teams, admins only) over a
/// range of Almaty days. A targetologist may ask only for their own team.
///
/// Errors: `Unauthorized`, `Forbidden` (another team), `NotFound` (unknown team),
/// `Validation` (malformed range).
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "traffic/funnel")]
pub async fn get_funnel(#[server(default)] query: FunnelQuery) -> Result<FunnelReport, AppError> {
    crate::access::as_user(
        |state, viewer| async move { crate::reports::funnel_report(&state.db, &viewer, &query).await },
    )
    .await
}
