//! The funnel, the sales reports and the ad accounts of the traffic pages.

use serde::{Deserialize, Serialize};

/// Which funnel to show: a team (by name) or all, and the date range. Every field is a URL
/// query parameter of `/traffic/cabinet/:team` or `GET /api/traffic-dashboard/funnel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelQuery {
    /// A team's name; `None` or `all` for every team (admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `today`, `yesterday`, `7d`, `30d`, `90d`, `month`; ignored when `start` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// First Almaty day, `yyyy-mm-dd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Last Almaty day, `yyyy-mm-dd`, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// One of the four stages of the funnel (`docs/product.md`, "Dashboards").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelStage {
    /// Which stage.
    pub key: StageKey,
    /// Clicks for the spend stage; leads or sales for the others.
    pub count: i64,
    /// Spend for the first stage, revenue for the sales stages, 0 for leads; whole tenge.
    pub money: i64,
    /// Percent of the previous stage's count; `None` when that is 0 (and for the first stage).
    pub conversion: Option<f64>,
    /// Spend per click, lead or sale, whole tenge; `None` when the count is 0.
    pub cost_per_result: Option<i64>,
}

/// One Almaty day of the funnel, for the daily chart and table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelDay {
    /// `yyyy-mm-dd`.
    pub date: String,
    /// Whole tenge.
    pub spend: i64,
    pub clicks: i64,
    pub quiz_leads: i64,
    pub express_sales: i64,
    pub flagship_sales: i64,
    /// Both products, whole tenge.
    pub revenue: i64,
}

/// A team the viewer may open in the cabinet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamChip {
    pub name: String,
    pub emoji: String,
    pub color: String,
}

/// The funnel of one team or all teams over a range of Almaty days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    /// The team shown; `None` for all teams.
    pub team: Option<TeamChip>,
    /// First day, `yyyy-mm-dd`.
    pub start: String,
    /// Last day, `yyyy-mm-dd`, inclusive.
    pub end: String,
    /// The preset the range came from, if any.
    pub range: Option<String>,
    pub stages: Vec<FunnelStage>,
    pub impressions: i64,
    /// Whole tenge.
    pub spend: i64,
    /// Express and flagship revenue, whole tenge.
    pub revenue: i64,
    /// `(revenue − spend) / spend` in percent; `None` without spend.
    pub roi: Option<f64>,
    /// Every day of the range, oldest first.
    pub daily: Vec<FunnelDay>,
    /// The teams the viewer may switch to; empty for a targetologist.
    pub switchable: Vec<TeamChip>,
}

/// The range and grouping of the sales tables on `/traffic/admin`; URL query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesReportQuery {
    /// A preset as in [`FunnelQuery::range`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `day`, `week` or `month` (default `day`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// One team's sales over the range; `team` is «Без команды» for unattributed sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSales {
    pub team: String,
    pub express_sales: i64,
    pub flagship_sales: i64,
    /// Won deals of other pipelines.
    pub other_sales: i64,
    /// Whole tenge, every product.
    pub revenue: i64,
}

/// One team's sales in one day, week or month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSales {
    /// `22.11.2026`, `16.11–22.11.2026` or `Ноябрь 2026`.
    pub period: String,
    pub team: String,
    pub sales: i64,
    /// Whole tenge.
    pub revenue: i64,
}

/// Leads, sales and revenue of a UTM source (and campaign).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtmRow {
    pub utm_source: String,
    pub utm_campaign: String,
    pub leads: i64,
    pub sales: i64,
    /// Whole tenge.
    pub revenue: i64,
    /// Sales per lead, percent; `None` without leads.
    pub conversion: Option<f64>,
}

/// A recorded sale in the list of recent sales, with where its news went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    pub sale_id: i64,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub sold_local: String,
    /// `express`, `flagship` or `other`.
    pub product: String,
    /// Whole tenge.
    pub amount: i64,
    pub team: Option<String>,
    pub contact_name: Option<String>,
    pub cancelled: bool,
    /// The Telegram announcement, in words.
    pub telegram: String,
    /// Whether Meta received the `Purchase`, in words.
    pub meta: String,
}

/// The sales tables of `/traffic/admin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesReport {
    /// `yyyy-mm-dd`.
    pub start: String,
    /// `yyyy-mm-dd`, inclusive.
    pub end: String,
    pub range: Option<String>,
    /// `day`, `week` or `month`.
    pub by: String,
    pub by_team: Vec<TeamSales>,
    pub by_period: Vec<PeriodSales>,
    pub sources: Vec<UtmRow>,
    pub campaigns: Vec<UtmRow>,
    /// The range's newest sales, at most 50.
    pub recent: Vec<SaleLine>,
}

/// A Facebook ad account on the settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdAccountView {
    /// `act_<n>`.
    pub account_id: String,
    pub name: String,
    pub business_name: Option<String>,
    pub currency: String,
    pub timezone: Option<String>,
    /// `active`, `disabled`, …
    pub status: String,
    pub team_id: Option<i64>,
    pub sync_enabled: bool,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub last_synced_local: Option<String>,
    pub last_error: Option<String>,
}

/// The four stages of the funnel, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKey {
    /// 💰 Spend on ads (with clicks).
    Spend,
    /// 🧪 Quiz leads.
    QuizLeads,
    /// 📚 Express-course sales.
    ExpressSales,
    /// 🏆 Flagship sales.
    FlagshipSales,
}

impl StageKey {
    /// The wire and CSS name: `spend`, `quiz_leads`, `express_sales`, `flagship_sales`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spend => "spend",
            Self::QuizLeads => "quiz_leads",
            Self::ExpressSales => "express_sales",
            Self::FlagshipSales => "flagship_sales",
        }
    }

    /// The emoji and the Russian caption.
    pub fn caption(self) -> (&'static str, &'static str) {
        match self {
            Self::Spend => ("💰", "Расход на рекламу"),
            Self::QuizLeads => ("🧪", "Лиды ProfTest"),
            Self::ExpressSales => ("📚", "Продажи Express"),
            Self::FlagshipSales => ("🏆", "Продажи флагмана"),
        }
    }
}

/// What a row of the ads report stands for, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdLevel {
    Campaign,
    Adset,
    Ad,
    /// Spend that names no campaign (entered by hand).
    UnmatchedSpend,
    /// Leads and sales whose tags name no ad, ad set or campaign of the range's spend.
    UnmatchedLeads,
    /// The sum of every row.
    Total,
}

/// One row of the ads report, with the rows it is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdRow {
    pub level: AdLevel,
    /// Facebook's id of the campaign, ad set or ad, when known.
    pub id: Option<String>,
    pub name: String,
    /// Whole tenge.
    pub spend: i64,
    pub impressions: i64,
    pub clicks: i64,
    /// Clicks per impression, percent; `None` without impressions.
    pub ctr: Option<f64>,
    /// Quiz leads, as the funnel counts them.
    pub leads: i64,
    pub express_sales: i64,
    pub flagship_sales: i64,
    /// Both products, whole tenge.
    pub revenue: i64,
    /// Whole tenge; `None` without leads or without spend.
    pub cost_per_lead: Option<i64>,
    /// `(revenue − spend) / spend` in percent; `None` without spend.
    pub roi: Option<f64>,
    pub children: Vec<AdRow>,
}

/// The ads report of a team (or all teams) over a range of Almaty days: campaigns with
/// their ad sets and ads, then what matched no ad; `GET /api/traffic-dashboard/ads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdReport {
    /// The team shown; `None` for all teams.
    pub team: Option<TeamChip>,
    /// First day, `yyyy-mm-dd`.
    pub start: String,
    /// Last day, `yyyy-mm-dd`, inclusive.
    pub end: String,
    /// Campaigns by spend, then unmatched spend and unmatched leads.
    pub rows: Vec<AdRow>,
    pub total: AdRow,
}
