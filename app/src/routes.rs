//! Routed pages, one file each.

pub mod login;
pub mod not_found;
pub mod target;
pub mod traffic;
