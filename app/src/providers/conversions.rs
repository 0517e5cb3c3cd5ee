//! Meta's Conversions API client (`docs/providers.md`, Conversions API): server events
//! posted to the dataset's `/events` edge, and the dataset read back to check a paused
//! token. Errors come in the Graph API's envelope and are read as the Marketing API's are.
//! The token travels as the `access_token` parameter, so URLs never reach logs.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

use super::facebook::{classify, usage_of, GraphError};
use super::http_client;
use crate::config::{ConversionsConfig, FacebookConfig};
use crate::domain::conversions::ServerEvent;

/// What Meta answered to a batch of events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventsReceived {
    pub events_received: i64,
    #[serde(default)]
    pub fbtrace_id: Option<String>,
}

/// The client of one dataset.
#[derive(Debug)]
pub struct ConversionsClient {
    http: reqwest::Client,
    base: String,
    pixel_id: String,
    token: SecretString,
    test_event_code: Option<String>,
}

impl ConversionsClient {
    /// A client for the dataset `config` names, on the Graph API of `graph`; `None` unless
    /// both the pixel and its token are set.
    pub fn from_config(config: &ConversionsConfig, graph: &FacebookConfig) -> Option<Self> {
        Some(Self {
            http: http_client(graph.timeout),
            base: graph.graph_url.trim_end_matches('/').to_owned(),
            pixel_id: config.pixel_id.clone()?,
            token: config.token.clone()?,
            test_event_code: config.test_event_code.clone(),
        })
    }

    /// Posts `events`; Meta takes all of them or none.
    pub async fn send(&self, events: &[ServerEvent]) -> Result<EventsReceived, GraphError> {
        let mut body = json!({ "data": events });
        if let Some(code) = &self.test_event_code {
            body["test_event_code"] = json!(code);
        }
        let request = self
            .http
            .post(format!("{}/{}/events", self.base, self.pixel_id))
            .query(&[("access_token", self.token.expose_secret())])
            .json(&body);
        self.call(request).await
    }

    /// Checks that the token may use the dataset (`GET /<pixel>?fields=id`): the probe of a
    /// paused integration.
    pub async fn check(&self) -> Result<(), GraphError> {
        let request = self
            .http
            .get(format!("{}/{}", self.base, self.pixel_id))
            .query(&[("fields", "id"), ("access_token", self.token.expose_secret())]);
        self.call::<Value>(request).await.map(drop)
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, GraphError> {
        let response = request.send().await.map_err(GraphError::transport)?;
        let status = response.status();
        let (_, regain) = usage_of(response.headers());
        let body = response.bytes().await.map_err(GraphError::transport)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|error| GraphError::Transient { message: format!("Meta: unexpected answer: {error}") });
        }
        Err(classify(status.as_u16(), &body, regain))
    }
}
