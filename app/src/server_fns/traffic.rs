//! The traffic dashboards: the funnel of `/traffic/cabinet/:team`, and on `/traffic/admin`
//! the sales tables, the manual spend entry and the Facebook ad-account settings.

mod get_ad_report;
mod get_funnel;
mod get_sales_report;
mod list_ad_accounts;
mod refresh_ad_accounts;
mod save_ad_account;
mod save_manual_spend;

pub use get_ad_report::{get_ad_report, GetAdReport};
pub use get_funnel::{get_funnel, GetFunnel};
pub use get_sales_report::{get_sales_report, GetSalesReport};
pub use list_ad_accounts::{list_ad_accounts, ListAdAccounts};
pub use refresh_ad_accounts::{refresh_ad_accounts, RefreshAdAccounts};
pub use save_ad_account::{save_ad_account, SaveAdAccount};
pub use save_manual_spend::{save_manual_spend, SaveManualSpend};
