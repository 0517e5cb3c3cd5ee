use leptos::prelude::*;

use crate::error::AppError;

/// Renders the errors an `ErrorBoundary` caught, in Russian, with a way forward.
///
/// During server rendering it also sets the response status from the first error.
pub fn error_template(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let app_errors = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| error.downcast_ref::<AppError>().cloned().unwrap_or(AppError::Internal))
            .collect::<Vec<_>>()
    };
    #[cfg(feature = "ssr")]
    if let (Some(first), Some(response)) =
        (app_errors().first().cloned(), use_context::<leptos_axum::ResponseOptions>())
    {
        response.set_status(first.status_code());
    }
    view! {
        <div class="error-box" role="alert">
            <For each=app_errors key=|error| error.to_string() let:error>
                {match error {
                    AppError::Unauthorized => {
                        view! {
                            <p>
                                "Сессия закончилась. " <a href="/login">"Войти снова"</a>
                            </p>
                        }
                            .into_any()
                    }
                    AppError::Forbidden => view! { <p>"Недостаточно прав для этой страницы."</p> }.into_any(),
                    other => view! { <p>{other.to_string()}</p> }.into_any(),
                }}
            </For>
        </div>
    }
}
