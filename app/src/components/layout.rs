use leptos::prelude::*;

use crate::models::Role;
use crate::server_fns::auth::{get_current_user, SignOut};

/// The frame of every signed-in page: navigation, the user's login and sign-out.
#[component]
pub fn AppLayout(children: Children) -> impl IntoView {
    let user = Resource::new(|| (), |_| get_current_user());
    let sign_out = ServerAction::<SignOut>::new();

    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "📈 Лиды и трафик"
            </a>
            <nav aria-label="Разделы">
                <Transition>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(user) if user.role == Role::Admin => {
                                view! {
                                    <a href="/target">"Лиды"</a>
                                    <a href="/traffic/cabinet/all">"Воронка"</a>
                                    <a href="/traffic/admin">"Команды"</a>
                                }
                                    .into_any()
                            }
                            Ok(_) => view! { <a href="/traffic/cabinet">"Моя воронка"</a> }.into_any(),
                            Err(_) => ().into_any(),
                        }
                    })}
                </Transition>
            </nav>
            <div class="user">
                <Transition>
                    {move || Suspend::new(async move {
                        user.await.ok().map(|user| view! { <span class="login-name">{user.login}</span> })
                    })}
                </Transition>
                <ActionForm action=sign_out attr:class="inline">
                    <button type="submit" class="link">
                        "Выйти"
                    </button>
                </ActionForm>
            </div>
        </header>
        <main class="page">{children()}</main>
    }
}
