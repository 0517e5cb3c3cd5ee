use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: sets a team's ad spend for one Almaty day by hand (whole tenge; 0 removes
/// it), for spend that no synced ad account reports.
///
/// Errors: `Unauthorized`, `Forbidden`, `NotFound` (team), `Validation` (date, amount).
#[server(endpoint = "traffic/manual_spend")]
pub async fn save_manual_spend(team_id: i64, date: String, amount: String) -> Result<(), AppError> {
    crate::access::as_admin(|state, _| async move {
        let day = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::validation("date", "ожидается дата ГГГГ-ММ-ДД"))?;
        let digits: String = amount.chars().filter(|c| !c.is_whitespace() && *c != '₸').collect();
        let tenge: i64 = digits
            .parse()
            .ok()
            .filter(|tenge| (0..=1_000_000_000_000).contains(tenge))
            .ok_or_else(|| AppError::validation("amount", "сумма в тенге, целое число от 0"))?;
        crate::services::ad_accounts::save_manual_spend(&state.services, team_id, day, tenge).await
    })
    .await
}
