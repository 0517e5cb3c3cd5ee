//! The HTML document and the router.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::routes::login::LoginPage;
use crate::routes::not_found::NotFoundPage;
use crate::routes::target::TargetPage;
use crate::routes::traffic::admin::TrafficAdminPage;
use crate::routes::traffic::cabinet::CabinetPage;
use crate::server_fns::auth::get_current_user;

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="ru">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                // Hashed names (`hash-files`): a new build is a new URL, cached for a year.
                <HashedStylesheet options=options.clone() id="leptos" />
                // Islands: only the interactive parts of a page hydrate.
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Scripts only from this site or with this response's nonce (the hydration script is
/// inline), WebAssembly compiled from our own bundle, no framing, forms only to us.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use http::header::CONTENT_SECURITY_POLICY;
    use http::HeaderValue;

    let Some(nonce) = leptos::nonce::use_nonce() else { return };
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// `/`: sends each user to their start page.
#[component]
fn HomePage() -> impl IntoView {
    let user = Resource::new(|| (), |_| get_current_user());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let path = user.await.map(|user| user.role.start_page()).unwrap_or("/login");
                view! { <Redirect path=path /> }
            })}
        </Suspense>
    }
}

/// The application: routes to every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Лиды и трафик" />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/target") view=TargetPage ssr=SsrMode::Async />
                <Route path=path!("/traffic/admin") view=TrafficAdminPage ssr=SsrMode::Async />
                <Route path=path!("/traffic/cabinet") view=CabinetPage ssr=SsrMode::Async />
                <Route path=path!("/traffic/cabinet/:team") view=CabinetPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
