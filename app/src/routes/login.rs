use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::live_page::mark_hydrated;
use crate::error::AppError;
use crate::server_fns::auth::SignIn;

/// `/login`: the sign-in form. Works without JavaScript (a plain form post).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    view! {
        <main class="login">
            <h1>"Вход"</h1>
            <SignInForm next />
        </main>
    }
}

/// The form itself, an island: a refused password is said at once, without a reload.
#[island]
fn SignInForm(
    /// Where to go once signed in.
    next: String,
) -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || {
        sign_in.value().get().and_then(Result::err).map(|error| match error {
            AppError::Unauthorized => "Неверный логин или пароль".to_owned(),
            other => other.to_string(),
        })
    };
    mark_hydrated();
    view! {
        <ActionForm action=sign_in attr:class="card login-form">
            <input type="hidden" name="next" value=next />
            <label>
                "Логин" <input type="text" name="login" autocomplete="username" required autofocus />
            </label>
            <label>
                "Пароль" <input type="password" name="password" autocomplete="current-password" required />
            </label>
            <Show when=move || error().is_some()>
                <p class="error" role="alert">
                    {error}
                </p>
            </Show>
            <button type="submit" disabled=move || sign_in.pending().get()>
                "Войти"
            </button>
        </ActionForm>
    }
}
