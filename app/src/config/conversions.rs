//! Events to Meta's Conversions API.

use secrecy::SecretString;

use super::env::{env_secret, env_string};
use super::ConfigError;
use crate::domain::conversions::LeadEvents;

/// Leads and sales sent back to Meta as server events (`docs/product.md`, "Conversions API").
/// The Graph API's address and timeout are those of [`FacebookConfig`](super::FacebookConfig).
#[derive(Debug, Clone, Default)]
pub struct ConversionsConfig {
    /// `FB_PIXEL_ID`: the dataset (pixel) the events go to.
    pub pixel_id: Option<String>,
    /// `FB_CAPI_TOKEN`: the dataset's Conversions API access token. Without it or the pixel
    /// nothing is sent.
    pub token: Option<SecretString>,
    /// `FB_CAPI_TEST_EVENT_CODE`: routes every event to Events Manager's Test Events tool
    /// instead of the ads (default none).
    pub test_event_code: Option<String>,
    /// `FB_CAPI_LEAD_EVENTS`: `off`, `quiz` or `all` (default) — which accepted leads send a
    /// `Lead`. Every express and flagship sale sends a `Purchase`.
    pub lead_events: LeadEvents,
}

impl ConversionsConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let lead_events = match env_string("FB_CAPI_LEAD_EVENTS")? {
            Some(text) => LeadEvents::parse(&text).ok_or_else(|| ConfigError {
                name: "FB_CAPI_LEAD_EVENTS",
                message: "expected off, quiz or all".to_owned(),
            })?,
            None => LeadEvents::default(),
        };
        let pixel_id = env_string("FB_PIXEL_ID")?;
        if let Some(pixel) = &pixel_id {
            if pixel.is_empty() || !pixel.chars().all(|c| c.is_ascii_digit()) {
                return Err(ConfigError {
                    name: "FB_PIXEL_ID",
                    message: "expected the dataset's numeric id".to_owned(),
                });
            }
        }
        Ok(Self {
            pixel_id,
            token: env_secret("FB_CAPI_TOKEN")?,
            test_event_code: env_string("FB_CAPI_TEST_EVENT_CODE")?,
            lead_events,
        })
    }

    /// Whether events are sent at all: a pixel and its token.
    pub fn enabled(&self) -> bool {
        self.pixel_id.is_some() && self.token.is_some()
    }

    /// Whether a lead of `kind` (`proftest`, `express`) sends a `Lead` event.
    pub fn sends_lead(&self, kind: &str) -> bool {
        self.enabled() && self.lead_events.includes(kind)
    }
}
