//! The traffic pages: the admin's team constructor and attribution overview, and the
//! funnel cabinets of the teams.

pub mod ad_accounts;
pub mod admin;
pub mod ads;
pub mod cabinet;
pub mod sales;
pub mod templates;
