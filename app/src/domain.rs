//! Parsing at the edge: raw submissions become validated domain values here, so the
//! code behind them only ever sees input that is known to be good.

pub mod delivery;
pub mod email;
pub mod lead_filter;
pub mod lead_input;
pub mod phone;
