//! Types that cross the wire between the server and the pages.
//! Split by area; every type is re-exported here, so `crate::models::X` names it.

mod auth;
mod delivery;
mod jobs;
mod leads;
mod teams;
mod traffic;

pub use auth::*;
pub use delivery::*;
pub use jobs::*;
pub use leads::*;
pub use teams::*;
pub use traffic::*;
