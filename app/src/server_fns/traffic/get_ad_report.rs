use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{AdReport, FunnelQuery};

/// Signed-in users: the ads report (per campaign, ad set and ad) of the funnel's team and
/// range; the same access as [`get_funnel`](super::get_funnel).
///
/// Errors: `Unauthorized`, `Forbidden` (another team), `NotFound` (unknown team),
/// `Validation` (malformed range).
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "traffic/ads")]
pub async fn get_ad_report(#[server(default)] query: FunnelQuery) -> Result<AdReport, AppError> {
    crate::access::as_user(|state, viewer| async move { crate::reports::ad_report(&state.db, &viewer, &query).await })
        .await
}
