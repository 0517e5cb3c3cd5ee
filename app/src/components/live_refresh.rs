//! Live reloads: a page subscribes to the server's change stream (`/api/live`) and reloads
//! its data when something it shows changed — a burst of changes makes one reload — and
//! keeps a slower timer as the fallback for when the stream is blocked or lost.

use std::time::Duration;

use leptos::prelude::*;

/// How long a burst of changes is gathered into one reload.
#[cfg(feature = "hydrate")]
const GATHER: Duration = Duration::from_millis(300);

/// Bumps `refresh` when the stream announces one of `events` (`lead`, `status`, `sale`;
/// `resync` always counts) and every `fallback` once it is known. Runs only in the browser;
/// the stream closes when the page goes away.
pub fn live_refresh(refresh: RwSignal<u64>, events: &'static [&'static str], fallback: Signal<Option<Duration>>) {
    let timer = StoredValue::new(None::<IntervalHandle>);
    Effect::new(move || {
        if let Some(every) = fallback.get() {
            if timer.get_value().is_none() {
                if let Ok(handle) = set_interval_with_handle(move || refresh.update(|n| *n += 1), every) {
                    timer.set_value(Some(handle));
                }
            }
        }
    });
    on_cleanup(move || {
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
    });
    #[cfg(feature = "hydrate")]
    subscribe(refresh, events);
    #[cfg(not(feature = "hydrate"))]
    let _ = events;
}

#[cfg(feature = "hydrate")]
fn subscribe(refresh: RwSignal<u64>, events: &'static [&'static str]) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new("/api/live") else { return };
    let gathering = StoredValue::new(false);
    let on_change = Closure::<dyn FnMut()>::new(move || {
        if !gathering.get_value() {
            gathering.set_value(true);
            // The page may be gone when the timer fires: then nothing is updated.
            set_timeout(
                move || {
                    gathering.try_set_value(false);
                    refresh.try_update(|n| *n += 1);
                },
                GATHER,
            );
        }
    });
    for event in events.iter().chain(&["resync"]) {
        let _ = source.add_event_listener_with_callback(event, on_change.as_ref().unchecked_ref());
    }
    // The browser keeps both until the page closes them.
    let held = StoredValue::new_local((source, on_change));
    on_cleanup(move || {
        held.try_with_value(|(source, _)| source.close());
    });
}
