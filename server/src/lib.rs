//! The server process: configuration, HTTP routes, the command line and shutdown.
//! `main.rs` only starts it; the tests drive the same pieces in-process.

pub mod backup;
pub mod cli;
pub mod edge;
pub mod metrics;
pub mod page_guard;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
