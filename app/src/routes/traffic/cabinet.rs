//! `/traffic/cabinet/:team` (and `/traffic/cabinet`, the viewer's own funnel): the four
//! stages (`docs/product.md`, "Dashboards") for a range of Almaty days, a funnel chart, a daily chart, the
//! daily table with CSV export, and the ads table (ROI per campaign, ad set and ad).
//!
//! The team and the range live in the URL, so every switch is a plain link that works
//! before the WASM arrives and can be shared. Who may see which team is decided by the
//! server function; a targetologist opening another team's cabinet gets 403.
//!
//! The page renders on the server; its [`LivePage`] island replaces the funnel (its
//! region) and hands the ads table its new report when one of the team's leads or sales
//! is recorded, and every half minute as the fallback.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::charts::{DailyChart, FunnelChart};
use crate::components::data_table::{DataTable, TableRow};
use crate::components::error_template::error_template;
use crate::components::layout::AppLayout;
use crate::components::live_page::LivePage;
use crate::components::range_picker::{range_query, RangePicker};
use crate::error::AppError;
use crate::format;
use crate::models::{FunnelQuery, FunnelReport, FunnelStage, StageKey};
use crate::server_fns::traffic::{get_ad_report, get_funnel};

use super::ads::AdsTable;

/// Seconds between the cabinet's reloads when the live stream is lost or blocked.
const FALLBACK_REFRESH_SECS: u32 = 30;

/// A team's funnel (or all teams' for admins).
#[component]
pub fn CabinetPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let query_map = query_map.read();
        let text =
            |key: &str| query_map.get(key).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        FunnelQuery { team: params.read().get("team"), range: text("range"), start: text("start"), end: text("end") }
    });
    let report = Resource::new(move || query.get(), get_funnel);
    let ads = Resource::new(move || query.get(), get_ad_report);

    view! {
        <AppLayout>
            <div data-region="funnel">
                <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                    <ErrorBoundary fallback=error_template>
                        {move || Suspend::new(async move {
                            let report = report.await?;
                            Ok::<_, AppError>(view! { <FunnelView report /> })
                        })}
                    </ErrorBoundary>
                </Transition>
            </div>
            <Transition>
                {move || Suspend::new(async move { ads.await.ok().map(|report| view! { <AdsTable report /> }) })}
            </Transition>
            <LivePage events=vec!["lead".to_owned(), "sale".to_owned()] fallback_secs=FALLBACK_REFRESH_SECS />
        </AppLayout>
    }
}

/// Everything below the navigation, for one report.
#[component]
fn FunnelView(report: FunnelReport) -> impl IntoView {
    let title = match &report.team {
        Some(team) => format!("{} {}", team.emoji, team.name),
        None => "Все команды".to_owned(),
    };
    let team_segment = report.team.as_ref().map(|team| team.name.clone()).unwrap_or_else(|| "all".into());
    let file_name = format!("voronka-{}-{}-{}.csv", format::url_encode(&team_segment), report.start, report.end);
    // Newest day first, as people read a report; the export keeps the same order.
    let rows = report
        .daily
        .iter()
        .rev()
        .map(|day| TableRow {
            key: Some(day.date.clone()),
            shown: vec![
                format::date(&day.date),
                format::tenge(day.spend),
                format::count(day.clicks),
                format::count(day.quiz_leads),
                format::count(day.express_sales),
                format::count(day.flagship_sales),
                format::tenge(day.revenue),
            ],
            exported: vec![
                day.date.clone(),
                day.spend.to_string(),
                day.clicks.to_string(),
                day.quiz_leads.to_string(),
                day.express_sales.to_string(),
                day.flagship_sales.to_string(),
                day.revenue.to_string(),
            ],
        })
        .collect::<Vec<_>>();

    view! {
        <div class="page-head">
            <h1>"Воронка · " {title}</h1>
            <span class="muted">{format!("{} — {}", format::date(&report.start), format::date(&report.end))}</span>
        </div>
        <TeamSwitcher report=report.clone() />
        <RangePicker
            base=format!("/traffic/cabinet/{}", format::url_encode(&team_segment))
            range=report.range.clone()
            start=report.start.clone()
            end=report.end.clone()
        />
        <section class="funnel-cards" aria-label="Этапы воронки">
            {report.stages.iter().cloned().map(|stage| view! { <StageCard stage /> }).collect_view()}
            <div class="stat-card roi" role="group" aria-label="ROI">
                <div class="stat-value">{format::percent(report.roi)}</div>
                <div class="stat-label">"ROI"</div>
                <div class="muted">
                    {format!("выручка {} · расход {}", format::tenge(report.revenue), format::tenge(report.spend))}
                </div>
            </div>
        </section>
        <div class="charts">
            <FunnelChart stages=report.stages.clone() />
            <DailyChart days=report.daily.clone() />
        </div>
        <DataTable
            title="По дням"
            headers=vec!["Дата", "Расход, ₸", "Клики", "Лиды ProfTest", "Express", "Флагман", "Выручка, ₸"]
            rows
            file_name
            numeric=vec![1, 2, 3, 4, 5, 6]
        />
    }
}

/// One stage: count, money, conversion from the stage before, cost per result.
#[component]
fn StageCard(stage: FunnelStage) -> impl IntoView {
    let (emoji, caption) = stage.key.caption();
    let (money_caption, cost_caption) = match stage.key {
        StageKey::Spend => ("расход", "за клик"),
        StageKey::QuizLeads => ("", "за лид"),
        StageKey::ExpressSales | StageKey::FlagshipSales => ("выручка", "за продажу"),
    };
    let count_caption = (stage.key == StageKey::Spend).then_some(" кликов");
    view! {
        <div class=format!("stat-card stage stage-{}", stage.key.as_str()) role="group" aria-label=caption>
            <div class="stat-label">{format!("{emoji} {caption}")}</div>
            <div class="stat-value" data-testid="stage-count">
                {format::count(stage.count)}
                {count_caption.map(|caption| view! { <span class="muted">{caption}</span> })}
            </div>
            {(!money_caption.is_empty())
                .then(|| {
                    view! {
                        <div class="stage-money" data-testid="stage-money">
                            {format!("{money_caption}: {}", format::tenge(stage.money))}
                        </div>
                    }
                })}
            <div class="muted">
                {(stage.key != StageKey::Spend)
                    .then(|| format!("конверсия {} · ", format::percent(stage.conversion)))}
                {format!("{cost_caption}: {}", format::tenge_or_none(stage.cost_per_result))}
            </div>
        </div>
    }
}

/// Links to the other teams' cabinets (admins), keeping the range.
#[component]
fn TeamSwitcher(report: FunnelReport) -> impl IntoView {
    if report.switchable.is_empty() {
        return None;
    }
    let current = report.team.as_ref().map(|team| team.name.clone());
    let range = range_query(report.range.as_deref(), &report.start, &report.end);
    let link = move |segment: String, caption: String, active: bool| {
        let href = format!("/traffic/cabinet/{}{range}", format::url_encode(&segment));
        view! {
            <a href=href class:active=active aria-current=active.then_some("page")>
                {caption}
            </a>
        }
    };
    let mut links = vec![link("all".into(), "Все команды".into(), current.is_none())];
    for team in &report.switchable {
        let active = current.as_deref() == Some(team.name.as_str());
        links.push(link(team.name.clone(), format!("{} {}", team.emoji, team.name), active));
    }
    Some(view! {
        <nav class="chips" aria-label="Команды">
            {links}
        </nav>
    })
}
