use leptos::prelude::*;

/// One number with its caption.
#[component]
pub fn StatCard(
    /// The caption, in Russian.
    label: &'static str,
    /// The number.
    value: i64,
) -> impl IntoView {
    view! {
        <div class="stat-card" role="group" aria-label=label>
            <div class="stat-value">{crate::format::count(value)}</div>
            <div class="stat-label">{label}</div>
        </div>
    }
}
