//! Signing in and out, and who is signed in.

mod get_current_user;
mod sign_in;
mod sign_out;

pub use get_current_user::{get_current_user, GetCurrentUser};
pub use sign_in::{sign_in, SignIn};
pub use sign_out::{sign_out, SignOut};
