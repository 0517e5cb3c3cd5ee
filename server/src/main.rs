//! `server` serves the app; its sub-commands manage the database and users
//! (see `server --help`).

use clap::Parser;

use server::{cli, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if std::env::var("APP_ENV").as_deref() != Ok("production") {
        // Development convenience; a missing .env is normal.
        let _ = dotenvy::dotenv();
    }
    telemetry::init();
    match cli::run(cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "the command failed");
            std::process::ExitCode::FAILURE
        }
    }
}
