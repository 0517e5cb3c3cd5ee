//! `GET /api/live`: Server-Sent Events telling an open dashboard that something it shows
//! changed — `lead` (`{"leadId":…}`), `status` (`{"leadId":…}`), `sale` (`{"saleId":…}`) —
//! so that it reloads at once instead of at its next refresh. Only ids travel; the page
//! reads the rest through its usual, access-checked requests. A targetologist's stream
//! carries only their own team's leads and sales (and no statuses: their pages show none).
//! A stream ends after [`STREAM_LIFETIME`] (the browser reconnects, and the session is
//! checked again) and when the server stops; `resync` says changes were missed.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderName;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use app::access::SignedIn;
use app::live::Change;
use app::models::{CurrentUser, Role};
use app::state::AppState;

/// How long one stream lasts before the browser reconnects.
const STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long the browser waits before reconnecting.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Signed-in users: the changes they may see, as they are committed.
pub async fn live_events(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
) -> ([(HeaderName, &'static str); 1], Sse<impl Stream<Item = Result<Event, Infallible>>>) {
    let feed = state.db.live();
    let closed = feed.closed();
    let changes = feed.subscribe();
    let hello = Event::default().event("hello").retry(RECONNECT_AFTER).data("{}");
    let events = stream::unfold(changes, move |mut changes| {
        let viewer = viewer.clone();
        async move {
            loop {
                match changes.recv().await {
                    Ok(change) => {
                        if let Some(event) = event_for(&viewer, change) {
                            return Some((event, changes));
                        }
                    }
                    Err(RecvError::Lagged(_)) => return Some((Event::default().event("resync").data("{}"), changes)),
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    let until = async move {
        tokio::select! {
            () = closed.cancelled() => {}
            () = tokio::time::sleep(STREAM_LIFETIME) => {}
        }
    };
    let stream = stream::once(async { hello }).chain(events).take_until(until).map(Ok);
    // A proxy must pass events on at once (nginx buffers responses unless told not to).
    ([(HeaderName::from_static("x-accel-buffering"), "no")], Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The event `viewer` gets for `change`, if they may see it.
fn event_for(viewer: &CurrentUser, change: Change) -> Option<Event> {
    let own_team =
        |team_id: Option<i64>| viewer.role == Role::Admin || (team_id.is_some() && team_id == viewer.team_id);
    let (name, data) = match change {
        Change::Lead { lead_id, team_id } if own_team(team_id) => ("lead", json!({ "leadId": lead_id })),
        Change::Status { lead_id } if viewer.role == Role::Admin => ("status", json!({ "leadId": lead_id })),
        Change::Sale { sale_id, team_id } if own_team(team_id) => ("sale", json!({ "saleId": sale_id })),
        _ => return None,
    };
    Some(Event::default().event(name).data(data.to_string()))
}
