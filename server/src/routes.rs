//! Plain HTTP routes: the public intake API, JSON APIs, provider webhooks and health checks.

pub mod delivery;
pub mod health;
pub mod integrations;
pub mod jobs_api;
pub mod landing;
pub mod leads_api;
