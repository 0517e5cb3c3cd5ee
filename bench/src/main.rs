//! Benchmarks, run by `scripts/bench`:
//! - `bench intake`: posts leads to a running server from this separate process and
//!   prints accepted leads per second and latency percentiles;
//! - `bench dashboard`: fills a database to a given number of leads and times the
//!   `/target` queries (first page, stat cards) over it;
//! - `bench funnel`: the same database plus two years of daily spend for 300 ads; times
//!   the funnel of one team over 30 days and of all teams over 365 days;
//! - `bench webhooks`: posts won-deal deliveries to the AmoCRM sales webhook and prints its
//!   latency percentiles;
//! - `bench fake-providers`: a Resend and Mobizon stand-in answering every send in 1 ms,
//!   and an AmoCRM that takes 3 s for every call;
//! - `bench scheduler`: after an intake run against a server using those fakes, waits
//!   for every email and SMS job and prints the runner's throughput and lateness.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};

use app::config::DatabaseConfig;
use app::db::ad_report::{ad_spend_lines, lead_tag_groups, sale_tag_groups};
use app::db::funnel::funnel_days;
use app::db::lead::{lead_page, lead_stats, resolve_campaigns, PageStart};
use app::db::Db;
use app::demo::{self, DemoOptions};
use app::domain::ad_report;
use app::domain::date_range::DateRange;
use app::domain::funnel::Funnel;
use app::domain::lead_filter::{CampaignFilter, CrmLink, LeadFilter, TeamChoice};
use app::models::DeliveryStatus;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load `POST /api/landing/proftest` of a running server.
    Intake {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seconds to measure (after a 2-second warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Leads per second to offer (0: as fast as the server answers).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Post as the visitor's browser does (`Origin`, `Referer`, `User-Agent`), so that
        /// each lead stores its browser for the Conversions API.
        #[arg(long)]
        browser: bool,
    },
    /// Load `GET /healthz` of a running server: the HTTP ceiling of the same build, to
    /// compare the intake with.
    Healthz {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Flood `POST /api/auth/sign_in` with wrong passwords for new logins, each from a new
    /// address (the server must trust 127.0.0.1 as a proxy), so every attempt is checked.
    SignInFlood {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Attempts per second to offer (0: as fast as the server answers).
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
    /// Load the AmoCRM sales webhook of a running server with won-deal deliveries.
    Webhooks {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// The server's `AMOCRM_WEBHOOK_SECRET`.
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Deliveries per second to offer (0: as fast as the server answers).
        #[arg(long, default_value_t = 200)]
        rate: u64,
    },
    /// Time a lead from its submission to the live stream: leads posted to `post_url` at
    /// `rate` a second while `/api/live` of `stream_url` (another process, on PostgreSQL)
    /// is read; prints the latencies.
    Live {
        #[arg(long)]
        post_url: String,
        #[arg(long)]
        stream_url: String,
        /// A bearer token of an admin.
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 50)]
        rate: u64,
    },
    /// Serve fake Resend, Mobizon and Conversions APIs that answer every send after 1 ms.
    FakeProviders {
        #[arg(long, default_value_t = 3299)]
        port: u16,
    },
    /// Wait until the email and SMS jobs are done; print throughput and lateness.
    Scheduler {
        /// The server's database (as `DATABASE_URL`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Time the dashboard queries on a database with `leads` leads.
    Dashboard {
        /// The database (as `DATABASE_URL`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Leads to have in the database before measuring.
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
        /// Timed runs of each query.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Time the funnel on a database with `leads` leads (and their demo sales) and daily
    /// spend of `ads` ads over two years.
    Funnel {
        /// The database (as `DATABASE_URL`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
        #[arg(long, default_value_t = BENCH_ADS)]
        ads: u32,
        /// Timed runs of each query.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One worker thread: the load generator must leave the other core to the server.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Intake { url, concurrency, seconds, rate, browser } => {
                intake(&url, concurrency, Duration::from_secs(seconds), rate, browser).await
            }
            Command::Healthz { url, concurrency, seconds } => {
                let endpoint = format!("{}/healthz", url.trim_end_matches('/'));
                load("healthz", endpoint, concurrency, Duration::from_secs(seconds), 0, None, &[]).await
            }
            Command::Webhooks { url, token, concurrency, seconds, rate } => {
                webhooks(&url, &token, concurrency, Duration::from_secs(seconds), rate).await
            }
            Command::SignInFlood { url, concurrency, seconds, rate } => {
                sign_in_flood(&url, concurrency, Duration::from_secs(seconds), rate).await
            }
            Command::Live { post_url, stream_url, token, seconds, rate } => {
                live(&post_url, &stream_url, &token, Duration::from_secs(seconds), rate).await
            }
            Command::FakeProviders { port } => fake_providers(port).await,
            Command::Scheduler { database_url, timeout } => {
                scheduler(&database_url, Duration::from_secs(timeout)).await
            }
            Command::Dashboard { database_url, leads, runs } => dashboard(&database_url, leads, runs).await,
            Command::Funnel { database_url, leads, ads, runs } => funnel(&database_url, leads, ads, runs).await,
        }
    })
}

/// The headers of a browser's cross-origin post from a landing page.
const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("origin", "https://landing.example.com"),
    ("referer", "https://landing.example.com/proftest?utm_source=fb_kenesary"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
];

async fn intake(url: &str, concurrency: usize, duration: Duration, rate: u64, browser: bool) -> anyhow::Result<()> {
    let endpoint = format!("{}/api/landing/proftest", url.trim_end_matches('/'));
    let headers = if browser { BROWSER_HEADERS } else { &[] };
    let body: BodyOf = |n| {
        // Formatted directly: the generator shares the machine, so it must stay light.
        let body = format!(
            r#"{{"name":"Нагрузочный Тест","email":"load{n}@example.com","phone":"+7701{:07}","utm_source":"fb_kenesary","utm_campaign":"bench","answers":{{"q1":"a","q2":"b"}}}}"#,
            n % 10_000_000
        );
        ("application/json", body)
    };
    load("intake", endpoint, concurrency, duration, rate, Some(body), headers).await
}

/// Posts a lead every `1 / rate` s for `duration` and reads the stream meanwhile; prints how
/// long each lead took from its request to its `lead` event, and how many never came.
async fn live(post_url: &str, stream_url: &str, token: &str, duration: Duration, rate: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut stream = client
        .get(format!("{}/api/live", stream_url.trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()
        .context("opening /api/live")?;
    let arrivals = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<i64, Instant>::new()));
    let reader = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if !block.contains("event: lead") {
                        continue;
                    }
                    let id = block
                        .lines()
                        .find_map(|line| line.strip_prefix("data:"))
                        .and_then(|data| serde_json::from_str::<serde_json::Value>(data.trim()).ok())
                        .and_then(|data| data["leadId"].as_i64());
                    if let Some(id) = id {
                        arrivals.lock().expect("not poisoned").insert(id, now);
                    }
                }
            }
        })
    };
    let endpoint = format!("{}/api/landing/proftest", post_url.trim_end_matches('/'));
    let start = Instant::now();
    let total = duration.as_secs() * rate;
    let posts: Vec<_> = (0..total)
        .map(|n| {
            let (client, endpoint) = (client.clone(), endpoint.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until((start + Duration::from_secs_f64(n as f64 / rate as f64)).into()).await;
                let body = format!(
                    r#"{{"name":"Живой Тест","email":"live{n}@example.com","phone":"+7705{:07}"}}"#,
                    n % 10_000_000
                );
                let sent = Instant::now();
                let response =
                    client.post(&endpoint).header("content-type", "application/json").body(body).send().await;
                let answer: serde_json::Value = response.ok()?.json().await.ok()?;
                Some((answer["leadId"].as_i64()?, sent))
            })
        })
        .collect();
    let mut sent = Vec::new();
    for post in posts {
        sent.extend(post.await?);
    }
    // The last events may still be on their way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    reader.abort();
    let arrivals = arrivals.lock().expect("not poisoned");
    let mut latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, sent)| arrivals.get(id).map(|arrived| arrived.saturating_duration_since(*sent)))
        .collect();
    latencies.sort_unstable();
    println!(
        "live: {} leads at {rate}/s, {} reached the stream; submission → event p50 {} p95 {} p99 {} max {}",
        sent.len(),
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    Ok(())
}

/// Wrong sign-ins, each for a new login from a new address, at `rate` a second (or as fast
/// as the server answers); prints how they were answered.
async fn sign_in_flood(url: &str, concurrency: usize, duration: Duration, rate: u64) -> anyhow::Result<()> {
    let endpoint = format!("{}/api/auth/sign_in", url.trim_end_matches('/'));
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let sequence = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let stop_at = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, endpoint, sequence) = (client.clone(), endpoint.clone(), sequence.clone());
            tokio::spawn(async move {
                let mut answers = std::collections::BTreeMap::<u16, u64>::new();
                while Instant::now() < stop_at {
                    let n = sequence.fetch_add(1, Ordering::Relaxed);
                    if rate > 0 {
                        tokio::time::sleep_until((start + Duration::from_secs_f64(n as f64 / rate as f64)).into())
                            .await;
                    }
                    let address = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
                    let response = client
                        .post(&endpoint)
                        .header("x-forwarded-for", address)
                        .form(&[("login", format!("flood{n}")), ("password", format!("wrong-password-{n}"))])
                        .send()
                        .await;
                    *answers.entry(response.map_or(0, |response| response.status().as_u16())).or_default() += 1;
                }
                answers
            })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::<u16, u64>::new();
    for worker in workers {
        for (status, count) in worker.await? {
            *answers.entry(status).or_default() += count;
        }
    }
    let total: u64 = answers.values().sum();
    println!(
        "sign-in flood: {total} attempts in {:.0} s ({:.0}/s) with {concurrency} connections; answers {answers:?}",
        duration.as_secs_f64(),
        total as f64 / duration.as_secs_f64()
    );
    Ok(())
}

/// AmoCRM deliveries of won deals without UTM fields, each a new deal, to the sales webhook.
async fn webhooks(url: &str, token: &str, concurrency: usize, duration: Duration, rate: u64) -> anyhow::Result<()> {
    let endpoint = format!("{}/api/amocrm/sales-webhook?token={token}", url.trim_end_matches('/'));
    load(
        "webhooks",
        endpoint,
        concurrency,
        duration,
        rate,
        Some(|n| {
            let body = format!(
                "leads%5Bstatus%5D%5B0%5D%5Bid%5D={}&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
             &leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=81854574&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=10350882\
             &leads%5Bstatus%5D%5B0%5D%5Bprice%5D=5000&account%5Bid%5D=30739638",
                90_000_000 + n
            );
            ("application/x-www-form-urlencoded", body)
        }),
        &[],
    )
    .await
}

/// The content type and body of the `n`th request.
type BodyOf = fn(u64) -> (&'static str, String);

/// Posts `body(n)` with `headers` to `endpoint` (or, without a body, gets it) from `concurrency`
/// connections for `duration` after a 2-second warm-up (paced at `rate` a second unless
/// 0); prints throughput and latency.
async fn load(
    what: &str,
    endpoint: String,
    concurrency: usize,
    duration: Duration,
    rate: u64,
    body: Option<BodyOf>,
    headers: &'static [(&'static str, &'static str)],
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let sequence = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let warm_up = Duration::from_secs(2);
    let start = Instant::now();
    let measure_from = start + warm_up;
    let stop_at = measure_from + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, endpoint, sequence, failures) =
                (client.clone(), endpoint.clone(), sequence.clone(), failures.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < stop_at {
                    let n = sequence.fetch_add(1, Ordering::Relaxed);
                    if rate > 0 {
                        // Lead n is offered at n / rate seconds: an open-loop, paced load.
                        tokio::time::sleep_until((start + Duration::from_secs_f64(n as f64 / rate as f64)).into())
                            .await;
                    }
                    let mut request = match body {
                        Some(body) => {
                            let (content_type, body) = body(n);
                            client.post(&endpoint).header("content-type", content_type).body(body)
                        }
                        None => client.get(&endpoint),
                    };
                    for (name, value) in headers {
                        request = request.header(*name, *value);
                    }
                    let sent = Instant::now();
                    let ok = matches!(request.send().await, Ok(response) if response.status().is_success());
                    if sent >= measure_from {
                        if ok {
                            latencies.push(sent.elapsed());
                        } else {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await?);
    }
    latencies.sort_unstable();
    let accepted = latencies.len();
    println!(
        "{what}: {accepted} requests answered 2xx in {:.0} s with {concurrency} connections: {:.0}/s; \
         latency p50 {} p90 {} p99 {} max {}; failed {}",
        duration.as_secs_f64(),
        accepted as f64 / duration.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        failures.load(Ordering::Relaxed),
    );
    Ok(())
}

/// The demo ads the benchmark's leads name in `utm_content` (and `bench funnel`'s default).
const BENCH_ADS: u32 = 300;

/// Opens the benchmark database and tops it up to `leads` demo leads over two years
/// (with their demo sales).
async fn database_with_leads(database_url: &str, leads: u64) -> anyhow::Result<(Db, u64)> {
    let db = Db::connect(&DatabaseConfig {
        url: database_url.to_owned(),
        max_connections: Some(4),
        acquire_timeout: std::time::Duration::from_secs(30),
    })
    .await?;
    db.migrate().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lead").fetch_one(db.pool()).await?;
    let missing = leads.saturating_sub(u64::try_from(existing).unwrap_or_default());
    if missing > 0 {
        let started = Instant::now();
        for (batch, size) in batches(missing, 100_000).enumerate() {
            demo::load(&db, DemoOptions { leads: size, days: 730, seed: 1_000 + batch as u64, ads: BENCH_ADS })
                .await
                .context("loading leads")?;
        }
        println!("loaded {missing} leads in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok((db, existing.max(0) as u64 + missing))
}

/// Refreshes the planner's statistics (PostgreSQL also marks pages all-visible, as
/// autovacuum would, so that index-only scans can skip the table).
async fn analyze(db: &Db) -> anyhow::Result<()> {
    let statement = match db.engine() {
        app::db::Engine::Postgres => "VACUUM ANALYZE",
        app::db::Engine::Sqlite => "ANALYZE",
    };
    sqlx::query(statement).execute(db.pool()).await?;
    Ok(())
}

async fn dashboard(database_url: &str, leads: u64, runs: usize) -> anyhow::Result<()> {
    let (db, total) = database_with_leads(database_url, leads).await?;
    analyze(&db).await?;
    let all = LeadFilter::default();
    let month = LeadFilter { source: Some("proftest".into()), ..LeadFilter::default() };
    let first_page = time(runs, || async { lead_page(&db, &all, PageStart::Newest, 50).await.map(drop) }).await?;
    let filtered_page = time(runs, || async { lead_page(&db, &month, PageStart::Newest, 50).await.map(drop) }).await?;
    let cards = time(runs, || async { lead_stats(&db, &all).await.map(drop) }).await?;
    let filtered_cards = time(runs, || async { lead_stats(&db, &month).await.map(drop) }).await?;
    println!(
        "dashboard ({:?}, {} leads, median of {runs}): first page {}, first page by source {}, stat cards {}, stat cards by source {}",
        db.engine(),
        total,
        ms(first_page),
        ms(filtered_page),
        ms(cards),
        ms(filtered_cards),
    );
    // The filters of `/target`, each alone and team with a status together: the first page
    // (the number the issue names) and the stat cards, which then count the leads themselves.
    let kenesary = || Some(TeamChoice::Named("Kenesary".into()));
    let contains = |text: &str| Some(CampaignFilter::Contains(text.into()));
    let filters = [
        ("team Kenesary", LeadFilter { team: kenesary(), ..LeadFilter::default() }),
        ("without a team", LeadFilter { team: Some(TeamChoice::Without), ..LeadFilter::default() }),
        ("email bounced", LeadFilter { email_status: Some(DeliveryStatus::Bounced), ..LeadFilter::default() }),
        ("SMS failed", LeadFilter { sms_status: Some(DeliveryStatus::Error), ..LeadFilter::default() }),
        ("not in AmoCRM", LeadFilter { crm: Some(CrmLink::Unlinked), ..LeadFilter::default() }),
        ("in AmoCRM", LeadFilter { crm: Some(CrmLink::Linked), ..LeadFilter::default() }),
        ("campaign ~ nutrients", LeadFilter { utm_campaign: contains("nutrients"), ..LeadFilter::default() }),
        ("campaign ~ nothing", LeadFilter { utm_campaign: contains("no-such-campaign"), ..LeadFilter::default() }),
        (
            "Kenesary + SMS failed",
            LeadFilter { team: kenesary(), sms_status: Some(DeliveryStatus::Error), ..LeadFilter::default() },
        ),
        (
            "Kenesary + email bounced",
            LeadFilter { team: kenesary(), email_status: Some(DeliveryStatus::Bounced), ..LeadFilter::default() },
        ),
    ];
    for (name, filter) in &filters {
        // As a request does: "campaign contains" is first resolved to the campaigns found.
        let resolved = || async {
            let mut filter = filter.clone();
            resolve_campaigns(&db, &mut filter).await?;
            Ok::<_, sqlx::Error>(filter)
        };
        let page =
            time(runs, || async { lead_page(&db, &resolved().await?, PageStart::Newest, 50).await.map(drop) }).await?;
        let cards = time(runs.min(5), || async { lead_stats(&db, &resolved().await?).await.map(drop) }).await?;
        println!("  filter {name}: first page {}, stat cards {}", ms(page), ms(cards));
    }
    db.close().await;
    Ok(())
}

async fn funnel(database_url: &str, leads: u64, ads: u32, runs: usize) -> anyhow::Result<()> {
    const DAYS: u32 = 730;
    let (db, total) = database_with_leads(database_url, leads).await?;
    let spend_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ad_spend").fetch_one(db.pool()).await?;
    if spend_rows < i64::from(ads) * i64::from(DAYS) {
        let started = Instant::now();
        let rows = demo::load_spend(&db, DAYS, ads, 2_000_000, 7).await?;
        println!("loaded {rows} spend rows in {:.0} s", started.elapsed().as_secs_f64());
    }
    analyze(&db).await?;
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sale").fetch_one(db.pool()).await?;
    let spend_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ad_spend").fetch_one(db.pool()).await?;
    let mut conn = db.pool().acquire().await?;
    let team = app::db::team::find_team_by_name(&mut conn, "Kenesary").await?.context("the default team Kenesary")?;
    drop(conn);
    let today = app::time::today_almaty();
    let month = DateRange::resolve(Some("30d"), None, None, today)?;
    let year = DateRange { start: today - chrono::Days::new(364), end: today };
    let funnel_of = |team_id: Option<i64>, range: DateRange| {
        let db = db.clone();
        async move {
            let mut conn = db.pool().acquire().await?;
            let by_day = funnel_days(&mut conn, team_id, range).await?;
            std::hint::black_box(Funnel::build(range, &by_day));
            Ok(())
        }
    };
    let ads_of = |team_id: Option<i64>, range: DateRange| {
        let db = db.clone();
        async move {
            let mut conn = db.pool().acquire().await?;
            let spend = ad_spend_lines(&mut conn, team_id, range).await?;
            let leads = lead_tag_groups(&mut conn, team_id, range).await?;
            let sales = sale_tag_groups(&mut conn, team_id, range).await?;
            std::hint::black_box(ad_report::build(&spend, &leads, &sales));
            Ok(())
        }
    };
    let one_team_month = time(runs, || funnel_of(Some(team.team_id), month)).await?;
    let all_teams_year = time(runs, || funnel_of(None, year)).await?;
    let one_team_year = time(runs, || funnel_of(Some(team.team_id), year)).await?;
    println!(
        "funnel ({:?}, {total} leads, {sales} sales, {spend_rows} spend rows, median of {runs}): one team 30 days {}, \
         all teams 365 days {}, one team 365 days {}",
        db.engine(),
        ms(one_team_month),
        ms(all_teams_year),
        ms(one_team_year),
    );
    let ads_month = time(runs, || ads_of(Some(team.team_id), month)).await?;
    let ads_year = time(runs.min(10), || ads_of(Some(team.team_id), year)).await?;
    println!(
        "ads report ({:?}, per campaign, ad set and ad, median of {runs}): one team 30 days {}, one team 365 days {}",
        db.engine(),
        ms(ads_month),
        ms(ads_year),
    );
    db.close().await;
    Ok(())
}

/// The median duration of `runs` calls of `query`.
async fn time<F, Fut>(runs: usize, query: F) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>>,
{
    query().await?;
    let mut durations = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        query().await?;
        durations.push(started.elapsed());
    }
    durations.sort_unstable();
    Ok(percentile(&durations, 0.5))
}

fn batches(total: u64, size: u64) -> impl Iterator<Item = u64> {
    (0..total.div_ceil(size)).map(move |i| size.min(total - i * size))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Fake Resend (`POST /emails`) and Mobizon (`POST /service/message/sendsmsmessage`)
/// answering in 1 ms, for measuring the job runner rather than a provider, and a slow
/// AmoCRM (`/api/v4/…`, 3 s) for measuring the webhook routes while AmoCRM drags.
async fn fake_providers(port: u16) -> anyhow::Result<()> {
    use axum::routing::post;

    let next_id = Arc::new(AtomicU64::new(0));
    let email_ids = next_id.clone();
    let router = axum::Router::new()
        .route(
            "/emails",
            post(move || {
                let id = email_ids.fetch_add(1, Ordering::Relaxed);
                async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    axum::Json(serde_json::json!({ "id": format!("bench-{id}") }))
                }
            }),
        )
        .route(
            "/service/message/sendsmsmessage",
            post(move || {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    axum::Json(serde_json::json!({ "code": 0, "data": { "messageId": id.to_string(), "status": 2 }, "message": "" }))
                }
            }),
        )
        // Meta's Conversions API: every event received after 1 ms.
        .route(
            "/v25.0/{pixel}/events",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                axum::Json(serde_json::json!({ "events_received": 1, "messages": [], "fbtrace_id": "bench" }))
            }),
        )
        // A slow AmoCRM: every API call takes 3 s, then finds nothing (204).
        .route(
            "/api/v4/{*rest}",
            axum::routing::any(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                axum::http::StatusCode::NO_CONTENT
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

/// Waits until no email or SMS job is pending or sending, then prints how many ran per
/// second while there was work, and how late they were (due time to finished send).
async fn scheduler(database_url: &str, timeout: Duration) -> anyhow::Result<()> {
    let db = Db::connect(&DatabaseConfig {
        url: database_url.to_owned(),
        max_connections: Some(2),
        acquire_timeout: std::time::Duration::from_secs(30),
    })
    .await?;
    let kinds = "kind IN ('send_lead_email', 'send_lead_sms')";
    let deadline = Instant::now() + timeout;
    loop {
        let open: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM job WHERE {kinds} AND status IN ('queued', 'running')"))
                .fetch_one(db.pool())
                .await?;
        if open == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "{open} jobs still open after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows: Vec<(i64, i64)> =
        sqlx::query_as(&format!("SELECT run_at, finished_at FROM job WHERE {kinds} AND status = 'done'"))
            .fetch_all(db.pool())
            .await?;
    let failed: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM job WHERE {kinds} AND status = 'failed'"))
        .fetch_one(db.pool())
        .await?;
    anyhow::ensure!(!rows.is_empty(), "no job ran");
    let first = rows.iter().map(|(run_at, _)| *run_at).min().unwrap_or_default();
    let last = rows.iter().map(|(_, finished)| *finished).max().unwrap_or_default();
    let mut lateness: Vec<Duration> = rows
        .iter()
        .map(|(run_at, finished)| Duration::from_millis(u64::try_from(finished - run_at).unwrap_or(0)))
        .collect();
    lateness.sort_unstable();
    let span = Duration::from_millis(u64::try_from(last - first).unwrap_or(1).max(1));
    println!(
        "scheduler: {} jobs sent in {:.1} s from the first due to the last sent: {:.0} jobs/s; \
         lateness p50 {} p99 {} max {}; failed {failed}",
        rows.len(),
        span.as_secs_f64(),
        rows.len() as f64 / span.as_secs_f64(),
        ms(percentile(&lateness, 0.50)),
        ms(percentile(&lateness, 0.99)),
        ms(lateness.last().copied().unwrap_or_default()),
    );
    Ok(())
}
