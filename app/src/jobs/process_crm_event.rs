//! Process one stored AmoCRM delivery (`docs/product.md`, "Sales"): each deal it mentions
//! is applied in AmoCRM's own order (`services::crm_deals`) — a won deal records one sale
//! per deal and product (whatever the retries and duplicates), attributed by its UTM tags —
//! the deal's, else those of the lead it came from — and queues one Telegram message; a
//! deal that left the won stage has its sales cancelled; a change older than one already
//! applied changes nothing.

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::db::crm_event::{crm_event, finish_crm_event};
use crate::db::job::ClaimedJob;
use crate::db::sale::has_active_sale;
use crate::db::team::attribution_rules;
use crate::domain::attribution::Attributor;
use crate::domain::crm_webhook::{parse_deal_changes, DealAction, DealChange};
use crate::live::LiveChanges;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::crm_deals::{apply_deal_state, product_of, recorded_sales, Applied, DealState};
use crate::services::Services;
use crate::time::now_ms;

/// Process one stored AmoCRM delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessCrmEvent {
    pub event_id: i64,
}

impl Job for ProcessCrmEvent {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "process_crm_event";
    const DESCRIPTION: &'static str = "Вебхук AmoCRM";
    const LANE: Lane = lanes::CRM_EVENTS;

    /// Records or cancels the delivery's sales and queues their messages, in one transaction.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let mut conn = services.db.pool().acquire().await?;
        let Some((route, body, received_at)) = crm_event(&mut conn, self.event_id).await? else {
            return Err(JobFailure::permanent(format!("no AmoCRM event {}", self.event_id)));
        };
        let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
        drop(conn);
        let parsed = match parse_deal_changes(body.as_bytes()) {
            Ok(changes) => Ok(deal_states(services, &route, changes, received_at).await?),
            Err(error) => Err(error),
        };
        let now = now_ms();
        let mut tx = services.db.begin_write().await?;
        let mut sales = LiveChanges::default();
        let (status, reason) = match parsed {
            Err(error) => ("rejected", Some(error.to_string())),
            Ok(states) => {
                let crm = &services.config.crm;
                let to_meta = services.config.conversions.enabled();
                let mut applied = Vec::with_capacity(states.len());
                for state in &states {
                    applied.push(apply_deal_state(&mut tx, crm, &attributor, Some(&route), state, to_meta, now).await?);
                }
                sales = recorded_sales(&applied);
                outcome(&applied)
            }
        };
        finish_crm_event(&mut tx, self.event_id, status, reason.as_deref(), now).await?;
        tx.commit().await?;
        sales.publish(services.db.live());
        Ok(Step::Done(()))
    }
}

/// The delivery's status and reason from what its deals came to.
fn outcome(applied: &[Applied]) -> (&'static str, Option<String>) {
    let acted = applied
        .iter()
        .any(|applied| matches!(applied, Applied::Recorded { .. } | Applied::AlreadyWon | Applied::Cancelled(_)));
    if acted {
        ("processed", None)
    } else if applied.contains(&Applied::Stale) {
        ("ignored", Some("изменение старее уже учтённого состояния сделки".to_owned()))
    } else {
        ("ignored", Some("нет новых выигранных или отменённых сделок".to_owned()))
    }
}

/// The deal states of a delivery's changes. A won deal not recorded yet whose delivery
/// carries no UTM field, or that we learn of from an update rather than a status change
/// (so that its won time is not the time of the change), is read from AmoCRM first — its
/// fields and its `closed_at` (before the transaction: no network call under the write lock).
async fn deal_states(
    services: &Services,
    route: &str,
    changes: Vec<DealChange>,
    received_at: i64,
) -> Result<Vec<DealState>, JobFailure> {
    let crm = &services.config.crm;
    let utm_fields = [crm.utm_source_field, crm.utm_medium_field, crm.utm_campaign_field];
    let mut states = Vec::with_capacity(changes.len());
    for change in changes {
        let Some(status_id) = change.status_id else { continue };
        let changed_at = change.changed_at.unwrap_or(received_at / 1_000);
        let won = status_id == crm.won_status_id;
        let mut state = DealState {
            deal_id: change.deal_id,
            pipeline_id: change.pipeline_id,
            status_id,
            changed_at,
            won_at: (won && change.action == DealAction::Status).then_some(changed_at),
            price: change.price,
            name: change.name,
            fields: change.custom_fields,
        };
        let needs_details =
            won && (state.won_at.is_none() || !utm_fields.iter().any(|id| state.fields.contains_key(id)));
        if needs_details && !already_won(services, &state, route).await? {
            if let Some(client) = services.amocrm.as_deref() {
                if let Some((deal, fields)) = client.deal_details(state.deal_id).await? {
                    state.won_at = state.won_at.or(deal.closed_at);
                    for (id, value) in fields {
                        state.fields.entry(id).or_insert(value);
                    }
                }
            }
        }
        states.push(state);
    }
    Ok(states)
}

/// Whether the deal's sale of its product is recorded already (nothing to read then).
async fn already_won(services: &Services, state: &DealState, route: &str) -> Result<bool, sqlx::Error> {
    let (product, _) = product_of(&services.config.crm, state.pipeline_id, Some(route));
    let mut conn = services.db.pool().acquire().await?;
    has_active_sale(&mut conn, state.deal_id, product).await
}
