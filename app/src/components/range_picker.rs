//! The date-range picker of the reports: preset links and a custom range form, all plain
//! URLs under `base`, so they work before the WASM arrives and can be shared.

use leptos::prelude::*;
use leptos_router::components::Form;

/// The presets: query value and caption.
const PRESETS: &[(&str, &str)] = &[
    ("today", "Сегодня"),
    ("yesterday", "Вчера"),
    ("7d", "7 дней"),
    ("30d", "30 дней"),
    ("90d", "90 дней"),
    ("month", "Этот месяц"),
];

/// Preset links and a "from … to …" form; `keep` are other query parameters to carry along.
#[component]
pub fn RangePicker(
    /// The page's path.
    base: String,
    /// The preset shown, if the range came from one.
    range: Option<String>,
    /// The range shown, `yyyy-mm-dd`.
    start: String,
    end: String,
    /// Query parameters to keep, e.g. `("by", "week")`.
    #[prop(optional)]
    keep: Vec<(&'static str, String)>,
) -> impl IntoView {
    let kept: String =
        keep.iter().map(|(name, value)| format!("&{name}={}", crate::format::url_encode(value))).collect();
    let presets = PRESETS
        .iter()
        .map(|(value, caption)| {
            let active = range.as_deref() == Some(*value);
            view! {
                <a href=format!("{base}?range={value}{kept}") class:active=active aria-current=active.then_some("true")>
                    {*caption}
                </a>
            }
        })
        .collect_view();
    let hidden =
        keep.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view();
    view! {
        <div class="filters range-picker">
            <nav class="chips" aria-label="Период">
                {presets}
            </nav>
            <Form method="GET" action=base>
                {hidden}
                <label>"с " <input type="date" name="start" value=start required /></label>
                <label>"по " <input type="date" name="end" value=end required /></label>
                <button type="submit">"Показать"</button>
            </Form>
        </div>
    }
}

/// `?range=…` or `?start=…&end=…`, reproducing a report's range in a link.
pub fn range_query(range: Option<&str>, start: &str, end: &str) -> String {
    match range {
        Some(range) => format!("?range={range}"),
        None => format!("?start={start}&end={end}"),
    }
}
