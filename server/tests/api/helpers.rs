//! `TestApp`: the real router on a free port over a fresh database of either engine.

use std::net::SocketAddr;
use std::time::Duration;

use leptos::config::LeptosOptions;
use serde_json::Value;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

use app::auth::{hash_password, new_secret, secret_hash};
use app::config::Config;
use app::db::{credential, team, user, Db, Engine};
use app::models::Role;
use app::queue::runner::JobRunner;
use app::services::Services;
use app::state::AppState;
use app::time::now_ms;
use server::startup::Application;

/// Runs a test body once per engine: `sqlite` always, `postgres` when configured.
macro_rules! on_both_engines {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $app =
                    $crate::helpers::TestApp::spawn(app::db::Engine::Sqlite).await.expect("SQLite is always available");
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let Some($app) = $crate::helpers::TestApp::spawn(app::db::Engine::Postgres).await else {
                    eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
                    return;
                };
                $body
            }
        }
    };
}
pub(crate) use on_both_engines;

/// Runs a test body once per engine with `$engine` naming it, for tests that start the
/// app themselves (with fakes or adjusted configuration).
macro_rules! with_each_engine {
    ($name:ident, |$engine:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let $engine = app::db::Engine::Sqlite;
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let $engine = app::db::Engine::Postgres;
                $body
            }
        }
    };
}
pub(crate) use with_each_engine;

/// A quiz lead from the `proftest` source that arrived at `at` (UTC ms), as seeds insert it:
/// messages sent, no deal.
pub fn quiz_lead_seed(name: String, email: String, phone_e164: String, at: i64) -> app::db::lead::LeadSeed {
    app::db::lead::LeadSeed {
        created_at: at,
        created_day: app::time::almaty_day(at),
        kind: "proftest",
        source: "proftest".into(),
        campaign_slug: None,
        name,
        email,
        phone_raw: phone_e164.clone(),
        phone_e164,
        payment_method: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        utm_content: None,
        email_status: "sent",
        sms_status: "sent",
        crm_deal_id: None,
    }
}

/// The notification delay the test server is configured with.
pub const NOTIFY_DELAY: Duration = Duration::from_secs(600);

/// A running server and a handle on its database.
pub struct TestApp {
    pub address: SocketAddr,
    pub db: Db,
    pub client: reqwest::Client,
    /// The job runner, not started: tests drive it with `run_due`.
    pub jobs: JobRunner<Services>,
    /// The handle the app's operations work with.
    pub services: Services,
    /// How many times the server looked a request's credentials up.
    pub credential_lookups: std::sync::Arc<std::sync::atomic::AtomicU64>,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Dropped with the app, unless a restart hands it on.
    database: Option<TestDatabase>,
}

impl TestApp {
    /// Starts the app on a new database, or `None` for PostgreSQL without `TEST_DATABASE_URL`.
    pub async fn spawn(engine: Engine) -> Option<Self> {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Like [`spawn`](Self::spawn), with the configuration adjusted by `configure`.
    pub async fn spawn_with(engine: Engine, configure: impl FnOnce(&mut Config)) -> Option<Self> {
        let database = TestDatabase::create(engine).await?;
        Some(Self::spawn_on(database, configure).await)
    }

    /// Stops this app and starts another on its database, as a restarted process would
    /// (with its configuration adjusted by `configure`).
    pub async fn restart(mut self, configure: impl FnOnce(&mut Config)) -> Self {
        self.shut_down().await;
        let database = self.database.take().expect("the app owns its database");
        Self::spawn_on(database, configure).await
    }

    /// Starts the app on `database` (migrated first) with the configuration adjusted by
    /// `configure`, as `server serve` does: the job runner prepares (paused integrations
    /// are probed at once) but does not run; tests drive it.
    async fn spawn_on(database: TestDatabase, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(&database.url);
        config.intake.notify_delay = NOTIFY_DELAY;
        config.intake.cors_allowed_origins = vec!["https://landing.example.com".to_owned()];
        config.crm.base_url = Some("https://academy.amocrm.ru".to_owned());
        configure(&mut config);
        let db = Db::connect(&config.database).await.expect("connecting to the test database");
        db.migrate().await.expect("migrating the test database");
        let leptos_options =
            LeptosOptions::builder().output_name("leadtrack").site_addr(SocketAddr::from(([127, 0, 0, 1], 0))).build();
        let state = AppState::new(leptos_options, db.clone(), config);
        state.jobs.prepare().await;
        let jobs = state.jobs.clone();
        let services = state.services.clone();
        let credential_lookups = state.credential_lookups.clone();
        let application = Application::build(state).await.expect("binding the test server");
        let address = application.local_addr();
        let shutdown = CancellationToken::new();
        let server = Some(tokio::spawn(application.run_until_stopped(shutdown.clone())));
        // A browser sends its page's origin with every change; the same-origin rule needs it.
        let origin = reqwest::header::HeaderValue::from_str(&format!("http://{address}")).unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(reqwest::header::HeaderMap::from_iter([(reqwest::header::ORIGIN, origin)]))
            .build()
            .expect("building the HTTP client");
        Self { address, db, client, jobs, services, credential_lookups, shutdown, server, database: Some(database) }
    }

    /// Sends the shutdown signal and waits until the server has stopped.
    pub async fn shut_down(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.expect("the server task").expect("the server stops cleanly");
        }
    }

    /// The URL of this app's database, for a second process on it.
    pub fn database_url(&self) -> String {
        self.database.as_ref().expect("the app owns its database").url.clone()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Posts a JSON body to an intake route.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("sending the request")
    }

    /// Creates a user with `password` and returns their id.
    pub async fn create_user(&self, login: &str, password: &str, role: Role, team_name: Option<&str>) -> i64 {
        let mut conn = self.db.pool().acquire().await.unwrap();
        let team_id = match team_name {
            Some(name) => {
                Some(team::find_team_by_name(&mut conn, name).await.unwrap().expect("a default team").team_id)
            }
            None => None,
        };
        let hash = hash_password(password.to_owned()).await.unwrap();
        user::insert_user(&mut conn, login, &hash, role, team_id, now_ms()).await.unwrap()
    }

    /// Creates a user and an API token for them; returns the token.
    pub async fn token_for(&self, login: &str, role: Role, team_name: Option<&str>) -> String {
        let user_id = self.create_user(login, "password-123", role, team_name).await;
        let token = new_secret();
        let mut conn = self.db.pool().acquire().await.unwrap();
        credential::insert_api_token(&mut conn, user_id, &secret_hash(&token), now_ms()).await.unwrap();
        token
    }

    /// `GET path` (with a bearer `token`, if any) read as JSON, whatever the status.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("sending the request").json().await.expect("a JSON answer")
    }

    /// Posts one quiz lead with these contacts; returns its id.
    pub async fn post_lead(&self, name: &str, email: &str, phone: &str) -> i64 {
        self.post_lead_with(
            serde_json::json!({ "name": name, "email": email, "phone": phone, "answers": { "q1": "a" } }),
        )
        .await
    }

    /// Posts one quiz lead with these fields added to a valid submission; returns its id.
    pub async fn post_lead_with(&self, fields: Value) -> i64 {
        let mut body = serde_json::json!({ "name": "Лид", "email": "lead@example.com", "phone": "+77051234567" });
        body.as_object_mut().unwrap().extend(fields.as_object().expect("an object of fields").clone());
        let response = self.post_json("/api/landing/proftest", &body).await;
        assert_eq!(response.status(), 200, "the lead is accepted");
        response.json::<Value>().await.unwrap()["leadId"].as_i64().expect("a lead id")
    }

    /// The lead's `statusToken`, as intake answered it.
    pub async fn status_token(&self, lead_id: i64) -> String {
        let mut conn = self.db.pool().acquire().await.unwrap();
        app::edge::status_token::StatusTokens::load(&mut conn).await.unwrap().token(lead_id)
    }

    /// The lead's status as `GET /api/landing/leads/:id/status` answers its token's holder.
    pub async fn lead_status(&self, lead_id: i64) -> Value {
        let token = self.status_token(lead_id).await;
        let path = format!("/api/landing/leads/{lead_id}/status?token={token}");
        let response = self.client.get(self.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Runs every job due `after` from now.
    pub async fn run_jobs_after(&self, after: Duration) -> usize {
        self.jobs.run_due(now_ms() + i64::try_from(after.as_millis()).unwrap()).await.expect("the job runner works")
    }

    /// A count from the database, e.g. `SELECT COUNT(*) FROM lead`.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.db.pool()).await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A database that exists for one test: a temporary SQLite file, or a new PostgreSQL
/// database dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    engine: Engine,
    admin_url: Option<String>,
    name: String,
}

impl TestDatabase {
    /// A new empty database, or `None` for PostgreSQL without `TEST_DATABASE_URL`.
    pub async fn create(engine: Engine) -> Option<Self> {
        sqlx::any::install_default_drivers();
        let name = format!("leadtrack_test_{}", &new_secret()[..16]);
        match engine {
            Engine::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Some(Self { url: format!("sqlite://{}?mode=rwc", path.display()), engine, admin_url: None, name })
            }
            Engine::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty())?;
                let mut conn = sqlx::AnyConnection::connect(&admin_url).await.expect("connecting to TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("creating a test database");
                let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin_url);
                Some(Self { url: format!("{base}/{name}"), engine, admin_url: Some(admin_url), name })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match (self.engine, self.admin_url.clone()) {
            (Engine::Sqlite, _) => {
                let path = self.url.trim_start_matches("sqlite://").trim_end_matches("?mode=rwc").to_owned();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            (Engine::Postgres, Some(admin_url)) => {
                let name = self.name.clone();
                // Drop cannot await; a short-lived runtime on its own thread does the cleanup.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                            .ok()
                    })
                })
                .join();
            }
            (Engine::Postgres, None) => {}
        }
    }
}
