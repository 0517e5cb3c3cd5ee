//! HTTP-level tests of the server, each run on SQLite and, when `TEST_DATABASE_URL` is
//! set, on PostgreSQL.

mod ad_spend;
mod ads_report;
mod alerts;
mod auth;
mod backup;
mod conversions;
mod crm_push;
mod crm_sync;
mod crm_webhooks;
mod delivery;
mod edge;
mod fakes;
mod funnel;
mod health;
mod helpers;
mod intake;
mod leads_api;
mod live;
mod metrics;
mod migrations;
mod notify_policy;
mod paused_integrations;
mod processes;
mod queue;
mod spool;
