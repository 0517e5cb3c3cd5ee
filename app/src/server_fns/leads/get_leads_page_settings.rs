use leptos::prelude::*;

use crate::error::AppError;
use crate::models::LeadsPageSettings;

/// Admins only: the refresh interval, the AmoCRM address, the known lead sources, the
/// teams and whether messages go to the development outbox.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "leads/settings")]
pub async fn get_leads_page_settings() -> Result<LeadsPageSettings, AppError> {
    crate::access::as_admin(|state, _| async move {
        let mut conn = state.db.pool().acquire().await?;
        let teams = crate::db::team::list_teams(&mut conn).await?.into_iter().map(|team| team.name).collect();
        drop(conn);
        Ok(LeadsPageSettings {
            refresh_secs: state.config.web.leads_refresh_secs,
            crm_base_url: state.config.crm.base_url.clone(),
            sources: crate::db::lead::list_sources(&state.db).await?,
            teams,
            test_mode: state.services.is_test_mode(),
        })
    })
    .await
}
