//! The business rules, free of I/O: parsing at the edge (raw submissions become validated
//! values, so the code behind them only sees input known to be good), delivery statuses
//! that never go backwards, and attribution of leads to teams.

pub mod ad_report;
pub mod alerts;
pub mod attribution;
pub mod conversions;
pub mod crm_webhook;
pub mod date_range;
pub mod delivery;
pub mod email;
pub mod funnel;
pub mod integration;
pub mod lead_filter;
pub mod lead_input;
pub mod notify_policy;
pub mod period;
pub mod phone;
pub mod team_input;
