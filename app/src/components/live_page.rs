//! The live page: the island every signed-in page carries. The page itself is rendered on
//! the server and ships no WASM; this island keeps it current and its forms quick.
//!
//! - It reloads the page's data regions (elements with `data-region`) when the change
//!   stream (`/api/live`) announces one of the page's events, on a slower timer as the
//!   fallback, when a link marked `data-refresh` is clicked, and when another island asks
//!   ([`request_refresh`]). The page's URL is fetched again and each region whose HTML
//!   changed is replaced, so the scroll, the focus and the filter form stay as they are; a
//!   burst of changes makes one reload.
//! - It posts the page's forms (the `ActionForm`s outside islands) in the background,
//!   shows what the server function answered in the flash line — its error, the text it
//!   answers with, or the form's `data-done` (`{n}` standing for a number it answers
//!   with) — and reloads the regions.
//!
//! Without JavaScript the page still works: its links and forms navigate.

use std::time::Duration;

use leptos::prelude::*;

/// What the flash line says after a form was sent.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), expect(dead_code, reason = "only the browser sends forms"))]
enum Flash {
    /// The server function's own message (a function that answers with text).
    Done(String),
    /// Why it was refused.
    Failed(String),
}

/// The page's live behaviour and its flash line.
#[island]
pub fn LivePage(
    /// The change-stream events (`lead`, `status`, `sale`) that reload the page; none: the
    /// page reloads only after its forms.
    events: Vec<String>,
    /// Seconds between fallback reloads; 0: none.
    fallback_secs: u32,
) -> impl IntoView {
    let flash = RwSignal::new(None::<Flash>);
    #[cfg(feature = "hydrate")]
    browser::start(events, fallback_secs, flash);
    #[cfg(not(feature = "hydrate"))]
    let _ = (events, fallback_secs);
    mark_hydrated();
    view! {
        <div class="flash">
            {move || {
                flash
                    .get()
                    .map(|flash| match flash {
                        Flash::Done(text) => view! { <p role="status">{text}</p> }.into_any(),
                        Flash::Failed(text) => view! { <p class="form-error" role="alert">{text}</p> }.into_any(),
                    })
            }}
        </div>
    }
}

/// Marks the body `data-hydrated` (for tests and CSS) once every island on the page has
/// hydrated: they hydrate one after another within one task, so a timer set by any of them
/// fires after the last. Effects run only in the browser.
pub fn mark_hydrated() {
    Effect::new(|| {
        set_timeout(
            || {
                if let Some(body) = document().body() {
                    let _ = body.set_attribute("data-hydrated", "true");
                }
            },
            Duration::ZERO,
        );
    });
}

/// Asks the page's [`LivePage`] to reload its regions now (an island changed something).
pub fn request_refresh() {
    #[cfg(feature = "hydrate")]
    if let Ok(event) = web_sys::Event::new(browser::REFRESH_EVENT) {
        let _ = window().dispatch_event(&event);
    }
}

/// Hands an island (marked `data-live-island=key` inside) the props it has in each reloaded
/// page, as JSON, instead of replacing it: it keeps what the reader chose in it.
pub fn on_fresh_props(key: &'static str, sink: impl Fn(&str) + 'static) {
    #[cfg(feature = "hydrate")]
    browser::PROPS_SINKS.with(|sinks| sinks.borrow_mut().push((key, Box::new(sink))));
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, sink);
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::time::Duration;

    use leptos::ev;
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        DomParser, Element, EventSource, HtmlFormElement, RequestInit, Response, SupportedType, UrlSearchParams,
    };

    use super::Flash;
    use crate::error::AppError;

    /// The window event by which islands ask for a reload.
    pub const REFRESH_EVENT: &str = "leadtrack:refresh";
    /// How long a burst of changes is gathered into one reload.
    const GATHER: Duration = Duration::from_millis(300);

    /// Where a reloaded island's props go, by its `data-live-island` key.
    type Sinks = Vec<(&'static str, Box<dyn Fn(&str)>)>;

    thread_local! {
        pub static PROPS_SINKS: RefCell<Sinks> = const { RefCell::new(Vec::new()) };
        /// A reload is waiting for its gathering time to pass.
        static GATHERING: Cell<bool> = const { Cell::new(false) };
        /// A reload is running; `AGAIN` asks for another once it is done.
        static RUNNING: Cell<bool> = const { Cell::new(false) };
        static AGAIN: Cell<bool> = const { Cell::new(false) };
    }

    pub fn start(events: Vec<String>, fallback_secs: u32, flash: RwSignal<Option<Flash>>) {
        // The page's listeners live as long as the page: their handles are not kept.
        let _ = window_event_listener(ev::submit, move |event| submit(event, flash));
        let _ = window_event_listener(ev::click, click);
        let _ = window_event_listener_untyped(REFRESH_EVENT, |_| reload());
        if !events.is_empty() {
            subscribe(&events);
        }
        if fallback_secs > 0 {
            let _ = set_interval_with_handle(reload, Duration::from_secs(fallback_secs.into()));
        }
    }

    /// Follows the change stream. The browser reconnects it when it drops; what changed
    /// meanwhile was not announced, so a reconnection reloads.
    fn subscribe(events: &[String]) {
        let Ok(source) = EventSource::new("/api/live") else { return };
        let on_change = Closure::<dyn FnMut()>::new(gathered_reload);
        for event in events.iter().map(String::as_str).chain(["resync"]) {
            let _ = source.add_event_listener_with_callback(event, on_change.as_ref().unchecked_ref());
        }
        let opened_before = Cell::new(false);
        let on_open = Closure::<dyn FnMut()>::new(move || {
            if opened_before.replace(true) {
                gathered_reload();
            }
        });
        let _ = source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        on_change.forget();
        on_open.forget();
        std::mem::forget(source);
    }

    /// Reloads once [`GATHER`] has passed, whatever else arrives meanwhile.
    fn gathered_reload() {
        if !GATHERING.replace(true) {
            set_timeout(
                || {
                    GATHERING.set(false);
                    reload();
                },
                GATHER,
            );
        }
    }

    /// Reloads the regions now, or right after the reload that is running.
    fn reload() {
        if RUNNING.replace(true) {
            AGAIN.set(true);
            return;
        }
        spawn_local(async {
            loop {
                if let Err(error) = reload_regions().await {
                    leptos::logging::warn!("reloading the page failed: {error:?}");
                }
                if !AGAIN.replace(false) {
                    break;
                }
            }
            RUNNING.set(false);
        });
    }

    /// Fetches the page again and replaces each region whose HTML changed; islands marked
    /// `data-live-island` get their new props instead.
    async fn reload_regions() -> Result<(), JsValue> {
        let window = window();
        let url = window.location().href()?;
        let init = RequestInit::new();
        init.set_method("GET");
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await?.dyn_into()?;
        // Signed out meanwhile (sent to /login) or failing: the page stays as it is.
        if !response.ok() || response.redirected() {
            return Ok(());
        }
        let html = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
        let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
        let regions = document().query_selector_all("[data-region]")?;
        for index in 0..regions.length() {
            let Some(current) = regions.item(index).and_then(|node| node.dyn_into::<Element>().ok()) else {
                continue;
            };
            let name = current.get_attribute("data-region").unwrap_or_default();
            let next = fresh.query_selector(&format!("[data-region=\"{name}\"]"))?;
            let next_html = next.map(|next| next.inner_html()).unwrap_or_default();
            if current.inner_html() != next_html {
                current.set_inner_html(&next_html);
            }
        }
        let islands = fresh.query_selector_all("[data-live-island]")?;
        for index in 0..islands.length() {
            let Some(marker) = islands.item(index).and_then(|node| node.dyn_into::<Element>().ok()) else {
                continue;
            };
            let key = marker.get_attribute("data-live-island").unwrap_or_default();
            let Some(props) = marker.closest("leptos-island")?.and_then(|island| island.get_attribute("data-props"))
            else {
                continue;
            };
            PROPS_SINKS.with(|sinks| {
                for (_, sink) in sinks.borrow().iter().filter(|(sink_key, _)| *sink_key == key) {
                    sink(&props);
                }
            });
        }
        Ok(())
    }

    /// A click on a `data-refresh` link reloads the regions instead of the page.
    fn click(event: web_sys::MouseEvent) {
        let target = event.target().and_then(|target| target.dyn_into::<Element>().ok());
        if target.and_then(|target| target.closest("[data-refresh]").ok().flatten()).is_some() {
            event.prevent_default();
            reload();
        }
    }

    /// Sends a posted form that no island handled to its server function in the background.
    fn submit(event: web_sys::SubmitEvent, flash: RwSignal<Option<Flash>>) {
        if event.default_prevented() {
            return;
        }
        let Some(form) = event.target().and_then(|target| target.dyn_into::<HtmlFormElement>().ok()) else {
            return;
        };
        if !form.method().eq_ignore_ascii_case("post") {
            return;
        }
        event.prevent_default();
        flash.set(None);
        spawn_local(async move {
            set_busy(&form, true);
            let outcome = post(&form).await;
            set_busy(&form, false);
            match outcome {
                Ok(Posted::Redirect(location)) => {
                    let _ = window().location().set_href(&location);
                }
                Ok(Posted::Done(answer)) => {
                    let message = serde_json::from_str::<String>(&answer)
                        .ok()
                        .or_else(|| form.get_attribute("data-done").map(|done| done.replace("{n}", answer.trim())));
                    flash.set(message.map(Flash::Done));
                    reload();
                }
                Ok(Posted::Refused(reason)) => flash.set(Some(Flash::Failed(reason))),
                Err(error) => {
                    leptos::logging::warn!("sending the form failed: {error:?}");
                    flash.set(Some(Flash::Failed("Сервер не ответил: проверьте соединение и повторите".to_owned())));
                }
            }
        });
    }

    /// What the server function answered.
    enum Posted {
        /// It sends the page elsewhere (signing out).
        Redirect(String),
        /// It did it; what it answered (JSON).
        Done(String),
        /// It refused, in words.
        Refused(String),
    }

    async fn post(form: &HtmlFormElement) -> Result<Posted, JsValue> {
        let fields = UrlSearchParams::new_with_str_sequence_sequence(&web_sys::FormData::new_with_form(form)?.into())?;
        let init = RequestInit::new();
        init.set_method("POST");
        let headers = web_sys::Headers::new()?;
        headers.set("accept", "application/json")?;
        headers.set("content-type", "application/x-www-form-urlencoded")?;
        init.set_headers(&headers);
        init.set_body(&fields.to_string().into());
        let response: Response =
            JsFuture::from(window().fetch_with_str_and_init(&form.action(), &init)).await?.dyn_into()?;
        if response.headers().has(leptos::server_fn::redirect::REDIRECT_HEADER)? {
            if let Some(location) = response.headers().get("location")? {
                return Ok(Posted::Redirect(location));
            }
        }
        let body = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
        if response.ok() {
            return Ok(Posted::Done(body));
        }
        let reason = serde_json::from_str::<AppError>(&body)
            .map(|error| error.to_string())
            .unwrap_or_else(|_| format!("Сервер ответил ошибкой {}", response.status()));
        Ok(Posted::Refused(reason))
    }

    /// Disables the form's buttons while it is being sent.
    fn set_busy(form: &HtmlFormElement, busy: bool) {
        let Ok(buttons) = form.query_selector_all("button") else { return };
        for index in 0..buttons.length() {
            if let Some(button) =
                buttons.item(index).and_then(|node| node.dyn_into::<web_sys::HtmlButtonElement>().ok())
            {
                button.set_disabled(busy);
            }
        }
    }
}
