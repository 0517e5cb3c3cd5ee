//! The leads dashboard (`/target`).

mod get_lead_stats;
mod get_leads_page_settings;
mod list_leads;
mod sync_on_first_visit;
mod sync_with_crm;

pub use get_lead_stats::{get_lead_stats, GetLeadStats};
pub use get_leads_page_settings::{get_leads_page_settings, GetLeadsPageSettings};
pub use list_leads::{list_leads, ListLeads, LEADS_PAGE_SIZE};
pub use sync_on_first_visit::{sync_on_first_visit, SyncOnFirstVisit};
pub use sync_with_crm::{sync_with_crm, SyncWithCrm};
