use leptos::prelude::*;

/// The router's fallback; answers 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="narrow">
            <h1>"Страница не найдена"</h1>
            <p>
                <a href="/target">"К списку лидов"</a>
            </p>
        </main>
    }
}
