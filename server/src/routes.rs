//! Plain HTTP routes: the public intake API, JSON APIs and health checks.

pub mod health;
pub mod landing;
pub mod leads_api;
