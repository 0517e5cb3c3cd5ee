//! Reports that pages and JSON routes share, with who may see what decided here once:
//! admins see every team; a targetologist sees only their own team (`docs/product.md`, "Access").

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::db::ad_report::{ad_spend_lines, lead_tag_groups, sale_tag_groups};
use crate::db::funnel::funnel_days;
use crate::db::report::{daily_team_sales, sales_history, utm_figures, SaleRecord, UtmFigures};
use crate::db::team::{active_team_chips, find_team_by_name, list_teams, TeamRow};
use crate::db::Db;
use crate::domain::date_range::DateRange;
use crate::domain::funnel::Funnel;
use crate::domain::period::Period;
use crate::error::AppError;
use crate::models::{
    AdReport, CurrentUser, FunnelQuery, FunnelReport, PeriodSales, Role, SaleLine, SalesReport, SalesReportQuery,
    TeamChip, TeamSales, UtmRow,
};
use crate::time::{format_almaty, today_almaty};

/// The funnel the viewer asked for.
///
/// Errors: `Forbidden` when a targetologist asks for another team or all teams,
/// `NotFound` for an unknown team (admins), `Validation` for a malformed range.
pub async fn funnel_report(db: &Db, viewer: &CurrentUser, query: &FunnelQuery) -> Result<FunnelReport, AppError> {
    let mut conn = db.pool().acquire().await?;
    let (team, range) = funnel_scope(&mut conn, viewer, query).await?;
    let by_day = funnel_days(&mut conn, team.as_ref().map(|team| team.team_id), range).await?;
    let switchable = match viewer.role {
        Role::Admin => active_team_chips(&mut conn).await?,
        Role::Targetologist => Vec::new(),
    };
    let funnel = Funnel::build(range, &by_day);
    Ok(FunnelReport {
        team: team.map(team_chip),
        start: range.start.format("%Y-%m-%d").to_string(),
        end: range.end.format("%Y-%m-%d").to_string(),
        range: query.start.is_none().then(|| query.range.clone().unwrap_or_else(|| "30d".into())),
        stages: funnel.stages,
        impressions: funnel.impressions,
        spend: funnel.spend,
        revenue: funnel.revenue,
        roi: funnel.roi,
        daily: funnel.daily,
        switchable,
    })
}

/// The ads report the viewer asked for: the funnel's team and range, per campaign, ad set
/// and ad.
///
/// Errors as [`funnel_report`].
pub async fn ad_report(db: &Db, viewer: &CurrentUser, query: &FunnelQuery) -> Result<AdReport, AppError> {
    let mut conn = db.pool().acquire().await?;
    let (team, range) = funnel_scope(&mut conn, viewer, query).await?;
    let team_id = team.as_ref().map(|team| team.team_id);
    let spend = ad_spend_lines(&mut conn, team_id, range).await?;
    let leads = lead_tag_groups(&mut conn, team_id, range).await?;
    let sales = sale_tag_groups(&mut conn, team_id, range).await?;
    let (rows, total) = crate::domain::ad_report::build(&spend, &leads, &sales);
    Ok(AdReport {
        team: team.map(team_chip),
        start: range.start.format("%Y-%m-%d").to_string(),
        end: range.end.format("%Y-%m-%d").to_string(),
        rows,
        total,
    })
}

/// The team (if the viewer may see it; `None` for all teams) and the range a funnel query
/// asks for.
async fn funnel_scope(
    conn: &mut sqlx::AnyConnection,
    viewer: &CurrentUser,
    query: &FunnelQuery,
) -> Result<(Option<TeamRow>, DateRange), AppError> {
    let range =
        DateRange::resolve(query.range.as_deref(), query.start.as_deref(), query.end.as_deref(), today_almaty())?;
    Ok((visible_team(conn, viewer, query.team.as_deref()).await?, range))
}

fn team_chip(team: TeamRow) -> TeamChip {
    TeamChip { name: team.name, emoji: team.emoji, color: team.color }
}

/// Sales of a range for the monitoring API (`sales-history`), newest first, at most 1 000;
/// a targetologist sees only their own team's.
///
/// Errors as [`funnel_report`].
pub async fn sales_history_for(
    db: &Db,
    viewer: &CurrentUser,
    team: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<(Option<String>, DateRange, Vec<SaleRecord>), AppError> {
    let range = DateRange::resolve(None, start, end, today_almaty())?;
    let mut conn = db.pool().acquire().await?;
    let team = visible_team(&mut conn, viewer, team).await?;
    let sales = sales_history(&mut conn, team.as_ref().map(|team| team.team_id), range, 1_000).await?;
    Ok((team.map(|team| team.name), range, sales))
}

/// Sales count and revenue per team (and unattributed) for a range (`sales-stats`).
///
/// Errors: `Validation` for a malformed range.
pub async fn team_sales_for(
    db: &Db,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<(DateRange, Vec<TeamSales>), AppError> {
    let range = DateRange::resolve(None, start, end, today_almaty())?;
    let mut conn = db.pool().acquire().await?;
    let (by_team, _) = team_and_period_sales(&mut conn, range, Period::Month).await?;
    Ok((range, by_team))
}

/// The team a viewer asked for, if they may see it: `None` (every team) for `all` or,
/// for admins, no name; a targetologist without a name gets their own team.
async fn visible_team(
    conn: &mut sqlx::AnyConnection,
    viewer: &CurrentUser,
    requested: Option<&str>,
) -> Result<Option<TeamRow>, AppError> {
    let requested = requested.map(str::trim).filter(|name| !name.is_empty());
    let all = requested.is_some_and(|name| name.eq_ignore_ascii_case("all"));
    match viewer.role {
        Role::Admin => match requested {
            Some(name) if !all => find_team_by_name(conn, name).await?.map(Some).ok_or(AppError::NotFound),
            _ => Ok(None),
        },
        Role::Targetologist => {
            let own = viewer.team_id.ok_or(AppError::Forbidden)?;
            let team = match requested {
                _ if all => None,
                // Without a name a targetologist gets their own team, as the old API did.
                None => crate::db::team::team_by_id(conn, own).await?,
                Some(name) => find_team_by_name(conn, name).await?,
            };
            // An unknown name is Forbidden too: the answer must not reveal which teams exist.
            team.filter(|team| team.team_id == own).map(Some).ok_or(AppError::Forbidden)
        }
    }
}

/// What unattributed sales are listed under.
const NO_TEAM: &str = "Без команды";

/// The sales tables of `/traffic/admin` (admins; the caller checks).
///
/// Errors: `Validation` for a malformed range or grouping.
pub async fn sales_report(db: &Db, query: &SalesReportQuery) -> Result<SalesReport, AppError> {
    let range =
        DateRange::resolve(query.range.as_deref(), query.start.as_deref(), query.end.as_deref(), today_almaty())?;
    let period = Period::parse(query.by.as_deref())?;
    let mut conn = db.pool().acquire().await?;
    let (by_team, by_period) = team_and_period_sales(&mut conn, range, period).await?;
    let utm_rows = |figures: Vec<UtmFigures>| {
        figures
            .into_iter()
            .map(|row| UtmRow {
                conversion: (row.leads > 0).then(|| row.sales as f64 * 100.0 / row.leads as f64),
                utm_source: row.utm_source,
                utm_campaign: row.utm_campaign,
                leads: row.leads,
                sales: row.sales,
                revenue: row.revenue,
            })
            .collect::<Vec<_>>()
    };
    let recent = sales_history(&mut conn, None, range, RECENT_SALES).await?.into_iter().map(sale_line).collect();
    let sources = utm_rows(utm_figures(&mut conn, range, false, UTM_ROWS).await?);
    let campaigns = utm_rows(utm_figures(&mut conn, range, true, UTM_ROWS).await?);
    Ok(SalesReport {
        start: range.start.format("%Y-%m-%d").to_string(),
        end: range.end.format("%Y-%m-%d").to_string(),
        range: query.start.is_none().then(|| query.range.clone().unwrap_or_else(|| "30d".into())),
        by: period.as_str().to_owned(),
        by_team,
        by_period,
        sources,
        campaigns,
        recent,
    })
}

/// The newest sales `/traffic/admin` lists.
const RECENT_SALES: i64 = 50;

/// A sale as the recent-sales table shows it, its announcement and Meta's copy in words.
fn sale_line(sale: SaleRecord) -> SaleLine {
    let telegram = match sale.telegram.as_str() {
        "pending" => "ждёт отправки",
        "sending" => "отправляется",
        "sent" => "отправлено",
        "uncertain" => "неизвестно, дошло ли",
        "failed" => "ошибка",
        _ => "—",
    };
    let meta = match sale.meta.as_str() {
        "pending" => "ждёт отправки",
        "sent" => "получено",
        "expired" => "старше 7 дней, не отправлено",
        "skipped" => "не с чем сопоставить",
        "failed" => "ошибка",
        _ => "—",
    };
    SaleLine {
        sale_id: sale.sale_id,
        sold_local: format_almaty(sale.sold_at),
        product: sale.product,
        amount: sale.amount,
        team: sale.team,
        contact_name: sale.contact_name,
        cancelled: sale.cancelled,
        telegram: telegram.to_owned(),
        meta: meta.to_owned(),
    }
}

/// Sales and revenue per team over `range`, most revenue first, and per team and period,
/// newest period first.
async fn team_and_period_sales(
    conn: &mut sqlx::AnyConnection,
    range: DateRange,
    period: Period,
) -> Result<(Vec<TeamSales>, Vec<PeriodSales>), sqlx::Error> {
    let names: HashMap<i64, String> =
        list_teams(&mut *conn).await?.into_iter().map(|team| (team.team_id, team.name)).collect();
    let team_name =
        |team_id: Option<i64>| team_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| NO_TEAM.to_owned());
    let daily = daily_team_sales(conn, range).await?;

    let mut by_team: BTreeMap<String, TeamSales> = BTreeMap::new();
    let mut by_period: BTreeMap<(NaiveDate, String), (i64, i64)> = BTreeMap::new();
    for row in &daily {
        let team = team_name(row.team_id);
        let totals = by_team.entry(team.clone()).or_insert_with(|| TeamSales {
            team: team.clone(),
            express_sales: 0,
            flagship_sales: 0,
            other_sales: 0,
            revenue: 0,
        });
        match row.product.as_str() {
            "express" => totals.express_sales += row.sales,
            "flagship" => totals.flagship_sales += row.sales,
            _ => totals.other_sales += row.sales,
        }
        totals.revenue += row.revenue;
        let Some(day) = date_of_day_number(row.day) else { continue };
        let cell = by_period.entry((period.start_of(day), team)).or_default();
        cell.0 += row.sales;
        cell.1 += row.revenue;
    }
    let mut by_team: Vec<TeamSales> = by_team.into_values().collect();
    by_team.sort_by(|a, b| b.revenue.cmp(&a.revenue).then_with(|| a.team.cmp(&b.team)));
    // Newest period first; within a period, most revenue first.
    let mut by_period: Vec<(NaiveDate, String, i64, i64)> =
        by_period.into_iter().map(|((start, team), (sales, revenue))| (start, team, sales, revenue)).collect();
    by_period.sort_by(|a, b| b.0.cmp(&a.0).then(b.3.cmp(&a.3)).then_with(|| a.1.cmp(&b.1)));
    let by_period = by_period
        .into_iter()
        .map(|(start, team, sales, revenue)| PeriodSales { period: period.caption(start), team, sales, revenue })
        .collect();
    Ok((by_team, by_period))
}

/// Rows of each UTM table.
const UTM_ROWS: usize = 100;

/// The calendar date of a stored `yyyymmdd`.
fn date_of_day_number(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(day / 10_000).ok()?, (day / 100 % 100) as u32, (day % 100) as u32)
}
