//! The lead-tracking application: pages, server functions and, behind the `ssr` feature,
//! the domain, database and authentication code they stand on.

pub mod components;
pub mod error;
pub mod format;
pub mod models;
pub mod routes;
pub mod server_fns;
mod shell;

#[cfg(feature = "ssr")]
pub mod access;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod domain;
#[cfg(feature = "ssr")]
pub mod edge;
#[cfg(feature = "ssr")]
pub mod intake;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod locks;
#[cfg(feature = "ssr")]
pub mod messages;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod providers;
#[cfg(feature = "ssr")]
pub mod queue;
#[cfg(feature = "ssr")]
pub mod reports;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod supervisor;
#[cfg(feature = "ssr")]
pub mod time;

pub use shell::{shell, App};

/// The browser's start, before the page's islands hydrate: the pages are rendered on the
/// server, and only their islands (`#[island]`) run here.
#[cfg(feature = "hydrate")]
pub fn start_islands() {
    leptos::mount::hydrate_islands();
    // A server function that redirects (signing in) sends the whole page there.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location| {
        let _ = leptos::prelude::window().location().set_href(location);
    });
}
