//! Components shared by pages.

pub mod delivery_status;
pub mod error_template;
pub mod failed_jobs;
pub mod layout;
pub mod stat_card;
