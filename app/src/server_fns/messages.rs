//! The texts leads receive, for the admins' preview on `/traffic/admin`.

mod list_template_previews;

pub use list_template_previews::{list_template_previews, ListTemplatePreviews};
