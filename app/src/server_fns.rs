//! Server functions, one per file, grouped by area. Each is a thin adapter: it checks
//! who is calling, then hands over to `db`/domain code.

pub mod auth;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod teams;
pub mod traffic;
