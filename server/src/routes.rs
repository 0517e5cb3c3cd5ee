//! Plain HTTP routes: the public intake API, JSON APIs, provider webhooks and health checks.

pub mod crm_sync;
pub mod crm_webhooks;
pub mod delivery;
pub mod health;
pub mod integrations;
pub mod jobs_api;
pub mod landing;
pub mod leads_api;
pub mod live;
pub mod sales_api;
pub mod traffic_api;
