//! Leads: intake inserts, the dashboard's list and counters.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::{AnyConnection, FromRow};

use super::delivery_event::delivery_history;
use super::{values_placeholders, Bind, Conditions, Db, Engine};
use crate::domain::attribution::Attribution;
use crate::domain::lead_filter::{CampaignFilter, CrmLink, LeadFilter, Search, TeamChoice};
use crate::domain::lead_input::{search_text, NewLead};
use crate::models::{Channel, Confidence, DeliveryStatus, DeliveryStep, LeadListItem, LeadPage, LeadQuery, LeadStats};
use crate::time::format_almaty;

/// How many counter rows share one day and source (see `lead_stat_daily`).
const STAT_BUCKETS: i64 = 16;

/// A validated lead about to be stored under an id taken beforehand.
#[derive(Debug, Clone, Copy)]
pub struct LeadToInsert<'a> {
    pub lead_id: i64,
    pub lead: &'a NewLead,
    pub submission_key: Option<&'a str>,
    pub created_at: i64,
    /// The Almaty day of `created_at` as `yyyymmdd`.
    pub day: i64,
    /// The team whose ads brought the lead, as the rules say at intake.
    pub attribution: &'a Attribution,
}

/// Columns per row of [`insert_leads`] (`updated_at` repeats `created_at`).
const LEAD_COLUMNS: usize = 26;

/// Takes `count` fresh lead ids. Call inside the write transaction: on SQLite the ids
/// follow the largest ever used, which is only safe while this process holds the write
/// permit (see [`Db::begin_write`]).
pub async fn next_lead_ids(conn: &mut AnyConnection, engine: Engine, count: usize) -> Result<Vec<i64>, sqlx::Error> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    match engine {
        Engine::Postgres => {
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('lead', 'lead_id')) FROM generate_series(1, $1)")
                .bind(count)
                .fetch_all(conn)
                .await
        }
        Engine::Sqlite => {
            let last: i64 = sqlx::query_scalar(
                "SELECT MAX(last) FROM (SELECT seq AS last FROM sqlite_sequence WHERE name = 'lead' \
                 UNION ALL SELECT COALESCE(MAX(lead_id), 0) FROM lead)",
            )
            .fetch_one(conn)
            .await?;
            Ok((last + 1..=last + count).collect())
        }
    }
}

/// Inserts leads in one statement and returns the ids actually inserted: a lead whose
/// `submission_key` was already used is skipped (see [`find_lead_by_submission_key`]).
pub async fn insert_leads(conn: &mut AnyConnection, leads: &[LeadToInsert<'_>]) -> Result<Vec<i64>, sqlx::Error> {
    let mut inserted = Vec::with_capacity(leads.len());
    for chunk in leads.chunks(LEADS_PER_STATEMENT) {
        inserted.extend(insert_lead_rows(conn, chunk).await?);
    }
    Ok(inserted)
}

/// Rows per insert statement. SQLite finds a `$n` parameter by walking the statement's
/// list of names, so binding costs grow with the square of the parameters: 16 leads (416
/// parameters) a statement keep that small, and PostgreSQL hardly notices the extra
/// statements.
const LEADS_PER_STATEMENT: usize = 16;

async fn insert_lead_rows(conn: &mut AnyConnection, leads: &[LeadToInsert<'_>]) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO lead (lead_id, created_at, updated_at, created_day, kind, source, campaign_slug, submission_key, \
         name, email, email_raw, phone_e164, phone_raw, search_text, payment_method, answers, utm_source, utm_medium, \
         utm_campaign, utm_content, utm_term, fbclid, referrer, team_id, attribution_confidence, attribution_rule) \
         VALUES {} \
         ON CONFLICT (submission_key) DO NOTHING RETURNING lead_id",
        values_placeholders(leads.len(), LEAD_COLUMNS, |column| (column == 2).then_some(1))
    );
    let mut query = sqlx::query_scalar(&sql);
    for row in leads {
        let (lead, tracking) = (row.lead, &row.lead.tracking);
        query = query
            .bind(row.lead_id)
            .bind(row.created_at)
            .bind(row.day)
            .bind(lead.kind.as_str())
            .bind(lead.source.as_str())
            .bind(lead.campaign_slug.as_deref())
            .bind(row.submission_key)
            .bind(lead.name.as_str())
            .bind(lead.email.as_str())
            .bind(lead.email_raw.as_str())
            .bind(lead.phone.as_str())
            .bind(lead.phone_raw.as_str())
            .bind(lead.search_text())
            .bind(lead.payment_method.as_deref())
            .bind(lead.answers.as_deref())
            .bind(tracking.utm_source.as_deref())
            .bind(tracking.utm_medium.as_deref())
            .bind(tracking.utm_campaign.as_deref())
            .bind(tracking.utm_content.as_deref())
            .bind(tracking.utm_term.as_deref())
            .bind(tracking.fbclid.as_deref())
            .bind(tracking.referrer.as_deref())
            .bind(row.attribution.team_id)
            .bind(row.attribution.confidence.as_str())
            .bind(row.attribution.rule.as_str());
    }
    query.fetch_all(&mut *conn).await
}

/// Whether a lead with this id exists.
pub async fn lead_exists(conn: &mut AnyConnection, lead_id: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT lead_id FROM lead WHERE lead_id = $1").bind(lead_id).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// The lead stored earlier under a client's idempotency key.
pub async fn find_lead_by_submission_key(conn: &mut AnyConnection, key: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT lead_id FROM lead WHERE submission_key = $1").bind(key).fetch_optional(conn).await
}

/// The lead with this email, phone and arrival time (UTC milliseconds), if one is stored:
/// a spooled submission that a writer stored after all.
pub async fn find_lead_by_arrival(
    conn: &mut AnyConnection,
    email: &str,
    phone_e164: &str,
    created_at: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT lead_id FROM lead WHERE email = $1 AND phone_e164 = $2 AND created_at = $3 LIMIT 1")
        .bind(email)
        .bind(phone_e164)
        .bind(created_at)
        .fetch_optional(conn)
        .await
}

/// Remembers lead sources for the dashboard filter.
pub async fn remember_sources(
    conn: &mut AnyConnection,
    sources: &BTreeSet<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    remember(conn, "lead_source", "source", sources, now_ms).await
}

/// Remembers UTM campaigns for the dashboard's "campaign contains" filter.
pub async fn remember_campaigns(
    conn: &mut AnyConnection,
    campaigns: &BTreeSet<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    remember(conn, "lead_campaign", "utm_campaign", campaigns, now_ms).await
}

/// Adds `values` not yet in `table` (keyed by `column`, with `first_seen_at`).
async fn remember(
    conn: &mut AnyConnection,
    table: &str,
    column: &str,
    values: &BTreeSet<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    if values.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {table} ({column}, first_seen_at) VALUES {} ON CONFLICT ({column}) DO NOTHING",
        values_placeholders(values.len(), 2, |_| None)
    );
    let mut query = sqlx::query(&sql);
    for value in values {
        query = query.bind(*value).bind(now_ms);
    }
    query.execute(conn).await.map(drop)
}

/// At most this many campaigns are looked up by name; a text found in more reads the leads.
const CAMPAIGNS_LOOKED_UP: usize = 100;

/// Turns "campaign contains" into the campaigns that do (see [`CampaignFilter::OneOf`]),
/// unless the text is in more than [`CAMPAIGNS_LOOKED_UP`] of them.
pub async fn resolve_campaigns(db: &Db, filter: &mut LeadFilter) -> Result<(), sqlx::Error> {
    let Some(CampaignFilter::Contains(text)) = &filter.utm_campaign else { return Ok(()) };
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT utm_campaign FROM lead_campaign WHERE LOWER(utm_campaign) LIKE $1 ESCAPE '\\' ORDER BY utm_campaign LIMIT $2",
    )
    .bind(format!("%{}%", like_escape(text)))
    .bind(CAMPAIGNS_LOOKED_UP as i64 + 1)
    .fetch_all(db.pool())
    .await?;
    if found.len() <= CAMPAIGNS_LOOKED_UP {
        filter.utm_campaign = Some(CampaignFilter::OneOf(found));
    }
    Ok(())
}

/// The counter row a lead counts in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatKey {
    pub day: i64,
    pub source: String,
    pub bucket: i64,
}

impl StatKey {
    /// The row of `lead_id`, created on `day` from `source`.
    pub fn of(lead_id: i64, day: i64, source: &str) -> Self {
        Self { day, source: source.to_owned(), bucket: lead_id.rem_euclid(STAT_BUCKETS) }
    }
}

/// Adds each delta (counts caused by a write, possibly negative) to its counter row.
///
/// Rows are updated in key order, so concurrent writers lock them in the same order.
pub async fn bump_lead_stats(
    conn: &mut AnyConnection,
    deltas: &BTreeMap<StatKey, LeadStats>,
) -> Result<(), sqlx::Error> {
    if deltas.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO lead_stat_daily (day, source, bucket, total, in_crm, email_sent, email_opened, sms_sent, sms_delivered, \
         email_skipped, sms_skipped) VALUES {} ON CONFLICT (day, source, bucket) DO UPDATE SET \
         total = lead_stat_daily.total + excluded.total, \
         in_crm = lead_stat_daily.in_crm + excluded.in_crm, \
         email_sent = lead_stat_daily.email_sent + excluded.email_sent, \
         email_opened = lead_stat_daily.email_opened + excluded.email_opened, \
         sms_sent = lead_stat_daily.sms_sent + excluded.sms_sent, \
         sms_delivered = lead_stat_daily.sms_delivered + excluded.sms_delivered, \
         email_skipped = lead_stat_daily.email_skipped + excluded.email_skipped, \
         sms_skipped = lead_stat_daily.sms_skipped + excluded.sms_skipped",
        values_placeholders(deltas.len(), 11, |_| None)
    );
    let mut query = sqlx::query(&sql);
    for (key, delta) in deltas {
        query = query
            .bind(key.day)
            .bind(key.source.as_str())
            .bind(key.bucket)
            .bind(delta.total)
            .bind(delta.in_crm)
            .bind(delta.email_sent)
            .bind(delta.email_opened)
            .bind(delta.sms_sent)
            .bind(delta.sms_delivered)
            .bind(delta.email_skipped)
            .bind(delta.sms_skipped);
    }
    query.execute(conn).await.map(drop)
}

/// Recomputes every daily counter from the lead table (after bulk loads or repairs).
pub async fn rebuild_lead_stats(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM lead_stat_daily").execute(&mut *conn).await?;
    sqlx::query(&format!(
        "INSERT INTO lead_stat_daily (day, source, bucket, total, in_crm, email_sent, email_opened, sms_sent, sms_delivered, \
         email_skipped, sms_skipped) SELECT created_day, source, lead_id % {STAT_BUCKETS}, COUNT(*), {} FROM lead GROUP BY created_day, source, lead_id % {STAT_BUCKETS}",
        STAT_SUMS
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO lead_source (source, first_seen_at) SELECT source, MIN(created_at) FROM lead GROUP BY source \
         ON CONFLICT (source) DO NOTHING",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO lead_campaign (utm_campaign, first_seen_at) SELECT utm_campaign, MIN(created_at) FROM lead \
         WHERE utm_campaign IS NOT NULL GROUP BY utm_campaign ON CONFLICT (utm_campaign) DO NOTHING",
    )
    .execute(conn)
    .await
    .map(drop)
}

/// The seven conditional counts of the cards, in [`LeadStats`] order after `total`.
const STAT_SUMS: &str = "\
    CAST(COALESCE(SUM(CASE WHEN crm_deal_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN email_status IN ('sent', 'delivered', 'opened', 'clicked') THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN email_status IN ('opened', 'clicked') THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN sms_status IN ('sent', 'delivered') THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN sms_status = 'delivered' THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN email_status = 'skipped' THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN sms_status = 'skipped' THEN 1 ELSE 0 END), 0) AS BIGINT)";

#[derive(FromRow)]
struct LeadListRow {
    lead_id: i64,
    name: String,
    email: String,
    phone_e164: String,
    source: String,
    utm_source: Option<String>,
    utm_campaign: Option<String>,
    email_status: String,
    email_status_at: Option<i64>,
    email_error: Option<String>,
    email_duplicate_of: Option<i64>,
    sms_status: String,
    sms_status_at: Option<i64>,
    sms_error: Option<String>,
    sms_duplicate_of: Option<i64>,
    crm_deal_id: Option<i64>,
    team_name: Option<String>,
    attribution_confidence: Option<String>,
    attribution_rule: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<LeadListRow> for LeadListItem {
    fn from(row: LeadListRow) -> Self {
        Self {
            lead_id: row.lead_id,
            name: row.name,
            email: row.email,
            phone: row.phone_e164,
            source: row.source,
            utm_source: row.utm_source,
            utm_campaign: row.utm_campaign,
            email_status: DeliveryStatus::parse(Channel::Email, &row.email_status).unwrap_or_default(),
            email_status_at_local: row.email_status_at.map(format_almaty),
            email_error: row.email_error,
            email_duplicate_of: row.email_duplicate_of,
            email_history: Vec::new(),
            sms_status: DeliveryStatus::parse(Channel::Sms, &row.sms_status).unwrap_or_default(),
            sms_status_at_local: row.sms_status_at.map(format_almaty),
            sms_error: row.sms_error,
            sms_duplicate_of: row.sms_duplicate_of,
            sms_history: Vec::new(),
            crm_deal_id: row.crm_deal_id,
            team: row.team_name,
            attribution_confidence: row.attribution_confidence.as_deref().and_then(Confidence::parse),
            attribution_rule: row.attribution_rule,
            created_at_local: format_almaty(row.created_at),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Where a page of leads starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// The newest leads.
    Newest,
    /// Leads older than this id.
    Before(i64),
    /// Leads newer than this id.
    After(i64),
}

impl PageStart {
    /// The start a query's cursor asks for (`after` wins over `before`).
    pub fn of(query: &LeadQuery) -> Self {
        match (query.after, query.before) {
            (Some(id), _) => Self::After(id),
            (None, Some(id)) => Self::Before(id),
            (None, None) => Self::Newest,
        }
    }
}

/// Lists up to `limit` leads matching `filter` from `start`, newest first, with the
/// cursors of the neighbouring pages.
///
/// Keyset paging on `lead_id` keeps every page as fast as the first one.
pub async fn lead_page(db: &Db, filter: &LeadFilter, start: PageStart, limit: i64) -> Result<LeadPage, sqlx::Error> {
    let mut conditions = filter_conditions(filter, "created_day");
    let order = match start {
        PageStart::Newest => "DESC",
        PageStart::Before(id) => {
            conditions.and("lead_id < ?", Bind::Int(id));
            "DESC"
        }
        PageStart::After(id) => {
            conditions.and("lead_id > ?", Bind::Int(id));
            "ASC"
        }
    };
    let sql = format!(
        "SELECT lead_id, name, email, phone_e164, source, utm_source, utm_campaign, email_status, email_status_at, email_error, email_duplicate_of, \
         sms_status, sms_status_at, sms_error, sms_duplicate_of, crm_deal_id, (SELECT name FROM team WHERE team.team_id = lead.team_id) AS team_name, \
         attribution_confidence, attribution_rule, created_at, updated_at FROM lead{} ORDER BY lead_id {order} LIMIT ${}",
        conditions.sql(),
        conditions.next_placeholder()
    );
    let mut rows: Vec<LeadListRow> =
        conditions.bind_to(sqlx::query_as(&sql)).bind(limit + 1).fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if order == "ASC" {
        rows.reverse();
    }
    let first = rows.first().map(|row| row.lead_id);
    let last = rows.last().map(|row| row.lead_id);
    let (next_before, prev_after) = match start {
        PageStart::Newest => (last.filter(|_| more), None),
        PageStart::Before(_) => (last.filter(|_| more), first),
        PageStart::After(_) => (last, first.filter(|_| more)),
    };
    let mut leads: Vec<LeadListItem> = rows.into_iter().map(LeadListItem::from).collect();
    let ids: Vec<i64> = leads.iter().map(|lead| lead.lead_id).collect();
    let mut conn = db.pool().acquire().await?;
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(n, lead_id)| (*lead_id, n)).collect();
    for event in delivery_history(&mut conn, &ids).await? {
        let Some(channel) = Channel::parse(&event.channel) else { continue };
        let (Some(&n), Some(status)) = (position.get(&event.lead_id), DeliveryStatus::parse(channel, &event.status))
        else {
            continue;
        };
        let step = DeliveryStep { status, at_local: format_almaty(event.at) };
        match channel {
            Channel::Email => leads[n].email_history.push(step),
            Channel::Sms => leads[n].sms_history.push(step),
        }
    }
    Ok(LeadPage { leads, next_before, prev_after })
}

/// The stat cards for `filter`: from the daily counters, or by scanning leads when the
/// filter has more than days and a source (which the counters cannot answer).
pub async fn lead_stats(db: &Db, filter: &LeadFilter) -> Result<LeadStats, sqlx::Error> {
    let (sql, conditions) = if !filter.fits_daily_counters() {
        let conditions = filter_conditions(filter, "created_day");
        (format!("SELECT COUNT(*), {STAT_SUMS} FROM lead{}", conditions.sql()), conditions)
    } else {
        let conditions = filter_conditions(filter, "day");
        let sum = |column: &str| format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)");
        let sql = format!(
            "SELECT {}, {}, {}, {}, {}, {}, {}, {} FROM lead_stat_daily{}",
            sum("total"),
            sum("in_crm"),
            sum("email_sent"),
            sum("email_opened"),
            sum("sms_sent"),
            sum("sms_delivered"),
            sum("email_skipped"),
            sum("sms_skipped"),
            conditions.sql()
        );
        (sql, conditions)
    };
    type Counts = (i64, i64, i64, i64, i64, i64, i64, i64);
    let (total, in_crm, email_sent, email_opened, sms_sent, sms_delivered, email_skipped, sms_skipped): Counts =
        conditions.bind_to(sqlx::query_as(&sql)).fetch_one(db.pool()).await?;
    Ok(LeadStats { total, in_crm, email_sent, email_opened, sms_sent, sms_delivered, email_skipped, sms_skipped })
}

/// Every source seen so far, alphabetically.
pub async fn list_sources(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT source FROM lead_source ORDER BY source").fetch_all(db.pool()).await
}

/// The `WHERE` clause of `filter` over a table whose Almaty day column is `day_column`
/// (`lead.created_day`, or `lead_stat_daily.day`, which has no text to search).
fn filter_conditions(filter: &LeadFilter, day_column: &str) -> Conditions {
    let mut conditions = Conditions::default();
    match &filter.search {
        Some(Search::Phone(phone)) => {
            conditions.and("phone_e164 = ?", Bind::Text(phone.clone()));
        }
        Some(Search::Email(email)) => {
            conditions.and("email = ?", Bind::Text(email.clone()));
        }
        Some(Search::LeadId(id)) => {
            conditions.and("lead_id = ?", Bind::Int(*id));
        }
        Some(Search::Text(text)) => {
            conditions.and("search_text LIKE ? ESCAPE '\\'", Bind::Text(format!("%{}%", like_escape(text))));
        }
        None => {}
    }
    if let Some(source) = &filter.source {
        conditions.and("source = ?", Bind::Text(source.clone()));
    }
    if let Some(day) = filter.from_day {
        conditions.and(&format!("{day_column} >= ?"), Bind::Int(day));
    }
    if let Some(day) = filter.to_day {
        conditions.and(&format!("{day_column} <= ?"), Bind::Int(day));
    }
    match &filter.team {
        Some(TeamChoice::Named(name)) => {
            conditions.and("team_id = (SELECT team_id FROM team WHERE name = ?)", Bind::Text(name.clone()));
        }
        Some(TeamChoice::Without) => {
            conditions.and_fixed("team_id IS NULL");
        }
        None => {}
    }
    if let Some(status) = filter.email_status {
        conditions.and("email_status = ?", Bind::Text(status.as_str().to_owned()));
    }
    if let Some(status) = filter.sms_status {
        conditions.and("sms_status = ?", Bind::Text(status.as_str().to_owned()));
    }
    match filter.crm {
        Some(CrmLink::Linked) => {
            conditions.and_fixed("crm_deal_id IS NOT NULL");
        }
        Some(CrmLink::Unlinked) => {
            conditions.and_fixed("crm_deal_id IS NULL");
        }
        None => {}
    }
    match &filter.utm_campaign {
        Some(CampaignFilter::Contains(text)) => {
            conditions.and("LOWER(utm_campaign) LIKE ? ESCAPE '\\'", Bind::Text(format!("%{}%", like_escape(text))));
        }
        Some(CampaignFilter::OneOf(campaigns)) if campaigns.is_empty() => {
            conditions.and_fixed("1 = 0");
        }
        Some(CampaignFilter::OneOf(campaigns)) => {
            conditions.any_of("utm_campaign", campaigns);
        }
        None => {}
    }
    conditions
}

/// `text` with LIKE's wildcards escaped by a backslash.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A complete lead row for bulk loads (demo data, benchmarks), statuses included.
#[derive(Debug, Clone)]
pub struct LeadSeed {
    pub created_at: i64,
    pub created_day: i64,
    pub kind: &'static str,
    pub source: String,
    pub campaign_slug: Option<String>,
    pub name: String,
    pub email: String,
    pub phone_e164: String,
    pub phone_raw: String,
    pub payment_method: Option<&'static str>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// The ad, as Facebook's `{{ad.id}}` URL parameter fills it in.
    pub utm_content: Option<String>,
    pub email_status: &'static str,
    pub sms_status: &'static str,
    pub crm_deal_id: Option<i64>,
}

/// Inserts many leads with as few statements as the engines allow. Counters are not
/// touched: call [`rebuild_lead_stats`] afterwards.
pub async fn insert_seed_leads(conn: &mut AnyConnection, leads: &[LeadSeed]) -> Result<(), sqlx::Error> {
    // SQLite accepts at most 32 766 bound values per statement.
    for chunk in leads.chunks(1_000) {
        let sql = format!(
            "INSERT INTO lead (created_at, updated_at, created_day, kind, source, campaign_slug, name, email, email_raw, \
             phone_e164, phone_raw, search_text, payment_method, utm_source, utm_medium, utm_campaign, utm_content, \
             email_status, sms_status, crm_deal_id, email_status_at) VALUES {}",
            values_placeholders(chunk.len(), 21, |column| (column == 1).then_some(0))
        );
        let mut query = sqlx::query(&sql);
        for lead in chunk {
            let sent_at = (lead.email_status != "pending").then_some(lead.created_at + 600_000);
            query = query
                .bind(lead.created_at)
                .bind(lead.created_day)
                .bind(lead.kind)
                .bind(lead.source.as_str())
                .bind(lead.campaign_slug.as_deref())
                .bind(lead.name.as_str())
                .bind(lead.email.as_str())
                .bind(lead.email.as_str())
                .bind(lead.phone_e164.as_str())
                .bind(lead.phone_raw.as_str())
                .bind(search_text(&lead.name, &lead.email, &lead.phone_e164))
                .bind(lead.payment_method)
                .bind(lead.utm_source.as_deref())
                .bind(lead.utm_medium.as_deref())
                .bind(lead.utm_campaign.as_deref())
                .bind(lead.utm_content.as_deref())
                .bind(lead.email_status)
                .bind(lead.sms_status)
                .bind(lead.crm_deal_id)
                .bind(sent_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
