//! Components shared by pages.

pub mod charts;
pub mod csv_export;
pub mod data_table;
pub mod delivery_status;
pub mod error_template;
pub mod failed_jobs;
pub mod layout;
pub mod live_page;
pub mod range_picker;
pub mod stat_card;
