//! Charts drawn as inline SVG by the server: no scripts, no CDN, readable before the WASM
//! arrives. Every mark has a `<title>`, so hovering shows the exact figure.

use leptos::prelude::*;

use crate::format;
use crate::models::{FunnelDay, FunnelStage, PeriodSales, StageKey};

/// The four stages as centred bars, each as wide as its count on a log scale (stage
/// counts differ by orders of magnitude), labelled with count and conversion.
#[component]
pub fn FunnelChart(stages: Vec<FunnelStage>) -> impl IntoView {
    const WIDTH: f64 = 640.0;
    const ROW: f64 = 52.0;
    let max = stages.iter().map(|stage| stage.count).max().unwrap_or(0).max(1) as f64;
    let height = ROW * stages.len() as f64;
    let bars = stages
        .into_iter()
        .enumerate()
        .map(|(index, stage)| {
            let (emoji, caption) = stage.key.caption();
            let share = (1.0 + stage.count as f64).ln() / (1.0 + max).ln();
            let width = 80.0 + (WIDTH - 80.0) * share;
            let x = (WIDTH - width) / 2.0;
            let y = index as f64 * ROW + 4.0;
            let count = if stage.key == StageKey::Spend {
                format!("{} кликов", format::count(stage.count))
            } else {
                format::count(stage.count)
            };
            let conversion = stage.conversion.map(|value| format!(" · {}", format::percent(Some(value))));
            let label = format!("{emoji} {caption}: {count}{}", conversion.unwrap_or_default());
            view! {
                <g class=format!("funnel-stage stage-{}", stage.key.as_str())>
                    <title>{label.clone()}</title>
                    <rect x=x y=y width=width height=ROW - 10.0 rx="6" />
                    <text x=WIDTH / 2.0 y=y + ROW / 2.0 - 1.0 text-anchor="middle">
                        {label}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="chart funnel-chart"
            viewBox=format!("0 0 {WIDTH} {height}")
            role="img"
            aria-label="Воронка"
        >
            {bars}
        </svg>
    }
}

/// Quiz leads per day as bars, spend as a line and sales as dots, each on its own scale
/// (the legend says which is which).
#[component]
pub fn DailyChart(days: Vec<FunnelDay>) -> impl IntoView {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 220.0;
    const TOP: f64 = 10.0;
    let plot = HEIGHT - TOP - 20.0;
    let n = days.len().max(1) as f64;
    let step = WIDTH / n;
    let max_leads = days.iter().map(|day| day.quiz_leads).max().unwrap_or(0).max(1) as f64;
    let max_spend = days.iter().map(|day| day.spend).max().unwrap_or(0).max(1) as f64;
    let max_sales = days.iter().map(|day| day.express_sales + day.flagship_sales).max().unwrap_or(0).max(1) as f64;
    let y_of = |value: f64, max: f64| TOP + plot - plot * value / max;
    let spend_line = days
        .iter()
        .enumerate()
        .map(|(i, day)| format!("{:.1},{:.1}", step * (i as f64 + 0.5), y_of(day.spend as f64, max_spend)))
        .collect::<Vec<_>>()
        .join(" ");
    let marks = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let x = step * i as f64;
            let sales = day.express_sales + day.flagship_sales;
            let title = format!(
                "{}: лидов {}, продаж {}, расход {}, выручка {}",
                day.date,
                format::count(day.quiz_leads),
                format::count(sales),
                format::tenge(day.spend),
                format::tenge(day.revenue)
            );
            let bar_y = y_of(day.quiz_leads as f64, max_leads);
            view! {
                <g class="day">
                    <title>{title}</title>
                    <rect class="leads" x=x + step * 0.15 y=bar_y width=step * 0.7 height=TOP + plot - bar_y />
                    {(sales > 0)
                        .then(|| {
                            view! {
                                <circle
                                    class="sales"
                                    cx=x + step / 2.0
                                    cy=y_of(sales as f64, max_sales)
                                    r="3.5"
                                />
                            }
                        })}
                </g>
            }
        })
        .collect_view();
    let first = days.first().map(|day| day.date.clone()).unwrap_or_default();
    let last = days.last().map(|day| day.date.clone()).unwrap_or_default();
    let legend = view! {
        <span class="key leads">"▮ лиды ProfTest"</span>
        <span class="key spend">"— расход"</span>
        <span class="key sales">"● продажи"</span>
    };
    view! {
        <TimeChart
            class="daily-chart"
            label="Лиды, продажи и расход по дням"
            size=(WIDTH, HEIGHT)
            ends=(first, last)
            legend=legend.into_any()
        >
            {marks}
            <polyline class="spend" points=spend_line />
        </TimeChart>
    }
}

/// Revenue per day, week or month as bars stacked by team (the largest team at the
/// bottom), oldest period on the left, each bar topped by its number of sales.
#[component]
pub fn SalesChart(
    /// The teams, most revenue first: the order of the stacks and the legend.
    teams: Vec<String>,
    by_period: Vec<PeriodSales>,
) -> impl IntoView {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 240.0;
    const TOP: f64 = 18.0;
    let plot = HEIGHT - TOP - 22.0;
    // The report lists the newest period first; a chart reads left to right.
    let mut periods: Vec<(String, Vec<&PeriodSales>)> = Vec::new();
    for row in &by_period {
        match periods.last_mut() {
            Some((period, rows)) if *period == row.period => rows.push(row),
            _ => periods.push((row.period.clone(), vec![row])),
        }
    }
    periods.reverse();
    let max = periods.iter().map(|(_, rows)| rows.iter().map(|row| row.revenue).sum::<i64>()).max().unwrap_or(0).max(1);
    let step = WIDTH / periods.len().max(1) as f64;
    let palette = |team: &str| teams.iter().position(|name| name == team).unwrap_or(teams.len()) % 6;
    let bars = periods
        .iter()
        .enumerate()
        .map(|(i, (period, rows))| {
            let x = step * i as f64 + step * 0.15;
            let width = step * 0.7;
            let mut stacked = 0_i64;
            let mut ordered = rows.clone();
            ordered.sort_by_key(|row| palette(&row.team));
            let segments = ordered
                .into_iter()
                .map(|row| {
                    let height = plot * row.revenue as f64 / max as f64;
                    let y = TOP + plot - plot * stacked as f64 / max as f64 - height;
                    stacked += row.revenue;
                    let title = format!(
                        "{period} · {}: продаж {}, выручка {}",
                        row.team,
                        format::count(row.sales),
                        format::tenge(row.revenue)
                    );
                    view! {
                        <rect class=format!("team-{}", palette(&row.team)) x=x y=y width=width height=height>
                            <title>{title}</title>
                        </rect>
                    }
                })
                .collect_view();
            let sales: i64 = rows.iter().map(|row| row.sales).sum();
            let top = TOP + plot - plot * stacked as f64 / max as f64;
            view! {
                <g class="period" data-period=period.clone()>
                    {segments}
                    <text x=x + width / 2.0 y=top - 4.0 text-anchor="middle" class="axis">
                        {format::count(sales)}
                    </text>
                </g>
            }
        })
        .collect_view();
    let first = periods.first().map(|(period, _)| period.clone()).unwrap_or_default();
    let last = periods.last().map(|(period, _)| period.clone()).unwrap_or_default();
    let legend = teams
        .iter()
        .map(|team| view! { <span class=format!("key team-{}", palette(team))>{format!("■ {team}")}</span> })
        .collect_view();
    let legend = view! { "Выручка по командам, над столбцом — число продаж: " {legend} };
    view! {
        <TimeChart
            class="sales-chart"
            label="Выручка и продажи по командам"
            size=(WIDTH, HEIGHT)
            ends=(first, last)
            legend=legend.into_any()
        >
            {bars}
        </TimeChart>
    }
}

/// A chart over time: the marks in a `size` (width, height) SVG with the first and the
/// last day or period (`ends`) under it, and the legend as its caption.
#[component]
fn TimeChart(
    class: &'static str,
    label: &'static str,
    size: (f64, f64),
    ends: (String, String),
    legend: AnyView,
    children: Children,
) -> impl IntoView {
    let (width, height) = size;
    let (first, last) = ends;
    view! {
        <figure class=class>
            <svg class="chart" viewBox=format!("0 0 {width} {height}") role="img" aria-label=label>
                {children()}
                <text x="0" y=height - 4.0 class="axis">
                    {first}
                </text>
                <text x=width y=height - 4.0 text-anchor="end" class="axis">
                    {last}
                </text>
            </svg>
            <figcaption class="legend">{legend}</figcaption>
        </figure>
    }
}
