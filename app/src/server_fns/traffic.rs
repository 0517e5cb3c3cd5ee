//! The traffic dashboards: the funnel of `/traffic/cabinet/:team`, the sales tables and
//! the manual spend entry of `/traffic/admin`.

mod get_funnel;
mod get_sales_report;
mod save_manual_spend;

pub use get_funnel::{get_funnel, GetFunnel};
pub use get_sales_report::{get_sales_report, GetSalesReport};
pub use save_manual_spend::{save_manual_spend, SaveManualSpend};
