//! The traffic pages: the admin's team constructor and attribution overview.

pub mod admin;
