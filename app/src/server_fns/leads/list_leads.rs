use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{LeadPage, LeadQuery};

/// Rows per page of the leads table.
pub const LEADS_PAGE_SIZE: i64 = 50;

/// Admins only: one page of leads matching `query`, newest first.
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` for a malformed filter or an
/// unknown team.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "leads/list")]
pub async fn list_leads(#[server(default)] query: LeadQuery) -> Result<LeadPage, AppError> {
    crate::access::as_admin(|state, _| async move {
        let filter = crate::services::leads::lead_filter(&state.db, &query).await?;
        let start = crate::db::lead::PageStart::of(&query);
        Ok(crate::db::lead::lead_page(&state.db, &filter, start, LEADS_PAGE_SIZE).await?)
    })
    .await
}
