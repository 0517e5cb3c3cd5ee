//! AmoCRM's pipelines, fields, credentials and webhooks.

use std::time::Duration;

use secrecy::SecretString;

use super::env::{env_list, env_parse, env_secret, env_secs, env_string, env_url};
use super::ConfigError;

/// AmoCRM (`docs/product.md`, "AmoCRM"): the ids are the business's, overridable per variable.
#[derive(Debug, Clone)]
pub struct CrmConfig {
    /// `AMOCRM_BASE_URL` (`https://<subdomain>.amocrm.ru`): the API host and deal links.
    pub base_url: Option<String>,
    /// `AMOCRM_ACCESS_TOKEN`: a long-lived token of the private integration; with the base
    /// URL it turns on pushing leads to AmoCRM (until then their jobs wait).
    pub access_token: Option<SecretString>,
    /// OAuth 2.0 instead of a long-lived token: `AMOCRM_CLIENT_ID`, `AMOCRM_CLIENT_SECRET`,
    /// `AMOCRM_REDIRECT_URI` (exactly as registered) and, for the first start,
    /// `AMOCRM_REFRESH_TOKEN`; after that the pair lives in the database (refresh tokens
    /// are single-use).
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub redirect_uri: Option<String>,
    pub refresh_token: Option<SecretString>,
    /// `AMOCRM_TIMEOUT_SECS`: the whole-request timeout (default 30).
    pub timeout: Duration,
    /// `AMOCRM_MAX_RPS`: requests per second the client allows itself (default 6, under
    /// AmoCRM's 7 per integration).
    pub max_rps: u32,
    /// `AMOCRM_SYNC_EVERY_SECS`: how often the recent deals are synced (default 21600, 6 h).
    pub sync_every: Duration,
    /// `AMOCRM_QUIZ_STATUS_ID`: the express pipeline's stage for a quiz submission
    /// (default 81856842).
    pub quiz_status_id: i64,
    /// `AMOCRM_CHECKOUT_STATUS_ID`: the stage for a checkout with an unmapped payment
    /// method (default 81854574, unsorted).
    pub checkout_status_id: i64,
    /// `AMOCRM_PAYMENT_STAGES`: payment method → stage, e.g. `kaspi=82174958,prodamus=81854578`
    /// (the default).
    pub payment_stages: Vec<(String, i64)>,
    /// `AMOCRM_EXPRESS_STAGES`: the express pipeline's stages in the order a person moves
    /// through them, comma-separated ids (default: unsorted, quiz, Kaspi, Prodamus, chat,
    /// lessons 1–3, webinar). A push moves an open deal only to a later stage of this list.
    pub express_stages: Vec<i64>,
    /// `AMOCRM_WEBHOOK_SECRET`: the `token` query parameter of the webhook URLs entered in
    /// AmoCRM; without it the webhook routes answer 404.
    pub webhook_secret: Option<SecretString>,
    /// `AMOCRM_EXPRESS_PIPELINE_ID` (default 10350882).
    pub express_pipeline_id: i64,
    /// `AMOCRM_FLAGSHIP_PIPELINE_ID` (default 10418746).
    pub flagship_pipeline_id: i64,
    /// `AMOCRM_WON_STATUS_ID` (default 142).
    pub won_status_id: i64,
    /// `EXPRESS_PRICE_KZT` (default 5000): an express sale without a deal price.
    pub express_price: i64,
    /// `FLAGSHIP_PRICE_KZT` (default 490000): a flagship sale without a deal price.
    pub flagship_price: i64,
    /// Deal custom fields holding UTM tags: `AMOCRM_FIELD_UTM_SOURCE` (434731),
    /// `AMOCRM_FIELD_UTM_MEDIUM` (434727), `AMOCRM_FIELD_UTM_CAMPAIGN` (434729).
    pub utm_source_field: i64,
    pub utm_medium_field: i64,
    pub utm_campaign_field: i64,
}

impl Default for CrmConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            access_token: None,
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            refresh_token: None,
            timeout: Duration::from_secs(30),
            max_rps: 6,
            sync_every: Duration::from_secs(6 * 3600),
            quiz_status_id: 81_856_842,
            checkout_status_id: 81_854_574,
            payment_stages: vec![("kaspi".to_owned(), 82_174_958), ("prodamus".to_owned(), 81_854_578)],
            express_stages: vec![
                81_854_574, 81_856_842, 82_174_958, 81_854_578, 81_854_582, 82_174_962, 81_854_586, 81_854_614,
                81_854_618,
            ],
            webhook_secret: None,
            express_pipeline_id: 10_350_882,
            flagship_pipeline_id: 10_418_746,
            won_status_id: 142,
            express_price: 5_000,
            flagship_price: 490_000,
            utm_source_field: 434_731,
            utm_medium_field: 434_727,
            utm_campaign_field: 434_729,
        }
    }
}

impl CrmConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let payment_stages = env_list("AMOCRM_PAYMENT_STAGES", "method=stage pairs separated by commas", method_stage)?;
        let express_stages = env_list("AMOCRM_EXPRESS_STAGES", "stage ids separated by commas", |id| id.parse().ok())?;
        Ok(Self {
            base_url: env_url("AMOCRM_BASE_URL")?,
            access_token: env_secret("AMOCRM_ACCESS_TOKEN")?,
            client_id: env_string("AMOCRM_CLIENT_ID")?,
            client_secret: env_secret("AMOCRM_CLIENT_SECRET")?,
            redirect_uri: env_string("AMOCRM_REDIRECT_URI")?,
            refresh_token: env_secret("AMOCRM_REFRESH_TOKEN")?,
            timeout: env_secs("AMOCRM_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            max_rps: env_parse("AMOCRM_MAX_RPS")?.unwrap_or(default.max_rps).max(1),
            sync_every: env_secs("AMOCRM_SYNC_EVERY_SECS")?.unwrap_or(default.sync_every),
            quiz_status_id: env_parse("AMOCRM_QUIZ_STATUS_ID")?.unwrap_or(default.quiz_status_id),
            checkout_status_id: env_parse("AMOCRM_CHECKOUT_STATUS_ID")?.unwrap_or(default.checkout_status_id),
            payment_stages: payment_stages.unwrap_or(default.payment_stages),
            express_stages: express_stages.unwrap_or(default.express_stages),
            webhook_secret: env_secret("AMOCRM_WEBHOOK_SECRET")?,
            express_pipeline_id: env_parse("AMOCRM_EXPRESS_PIPELINE_ID")?.unwrap_or(default.express_pipeline_id),
            flagship_pipeline_id: env_parse("AMOCRM_FLAGSHIP_PIPELINE_ID")?.unwrap_or(default.flagship_pipeline_id),
            won_status_id: env_parse("AMOCRM_WON_STATUS_ID")?.unwrap_or(default.won_status_id),
            express_price: env_parse("EXPRESS_PRICE_KZT")?.unwrap_or(default.express_price),
            flagship_price: env_parse("FLAGSHIP_PRICE_KZT")?.unwrap_or(default.flagship_price),
            utm_source_field: env_parse("AMOCRM_FIELD_UTM_SOURCE")?.unwrap_or(default.utm_source_field),
            utm_medium_field: env_parse("AMOCRM_FIELD_UTM_MEDIUM")?.unwrap_or(default.utm_medium_field),
            utm_campaign_field: env_parse("AMOCRM_FIELD_UTM_CAMPAIGN")?.unwrap_or(default.utm_campaign_field),
        })
    }
}

/// `kaspi=82174958` → the lower-cased method and its stage id; `None` if malformed.
fn method_stage(pair: &str) -> Option<(String, i64)> {
    let (name, id) = pair.split_once('=')?;
    Some((name.trim().to_lowercase(), id.trim().parse().ok()?))
}
