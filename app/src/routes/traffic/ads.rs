//! The cabinet's ads table: spend, results and ROI per campaign, expandable to its ad sets
//! and ads, sortable by any column, and its CSV exactly the rows on screen. An island: it
//! takes each reloaded report from the page's live updates and keeps its sort and open rows.

use std::collections::HashSet;

use leptos::prelude::*;

use crate::components::csv_export::csv_text;
use crate::components::live_page;
use crate::format;
use crate::models::{AdLevel, AdReport, AdRow};

/// What the table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Spend,
    Impressions,
    Clicks,
    Ctr,
    Leads,
    Express,
    Flagship,
    Revenue,
    CostPerLead,
    Roi,
}

impl Column {
    const ALL: [(Self, &'static str); 11] = [
        (Self::Name, "Кампания / группа / объявление"),
        (Self::Spend, "Расход, ₸"),
        (Self::Impressions, "Показы"),
        (Self::Clicks, "Клики"),
        (Self::Ctr, "CTR"),
        (Self::Leads, "Лиды"),
        (Self::Express, "Express"),
        (Self::Flagship, "Флагман"),
        (Self::Revenue, "Выручка, ₸"),
        (Self::CostPerLead, "Цена лида, ₸"),
        (Self::Roi, "ROI"),
    ];

    /// Orders rows by this column, largest first (names alphabetically); rows without a
    /// value (no spend for ROI) last.
    fn compare(self, a: &AdRow, b: &AdRow) -> std::cmp::Ordering {
        let number = |row: &AdRow| -> Option<f64> {
            match self {
                Self::Name => None,
                Self::Spend => Some(row.spend as f64),
                Self::Impressions => Some(row.impressions as f64),
                Self::Clicks => Some(row.clicks as f64),
                Self::Ctr => row.ctr,
                Self::Leads => Some(row.leads as f64),
                Self::Express => Some(row.express_sales as f64),
                Self::Flagship => Some(row.flagship_sales as f64),
                Self::Revenue => Some(row.revenue as f64),
                Self::CostPerLead => row.cost_per_lead.map(|cost| cost as f64),
                Self::Roi => row.roi,
            }
        };
        match self {
            Self::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            _ => match (number(a), number(b)) {
                (Some(a), Some(b)) => b.total_cmp(&a),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
        }
    }
}

/// A row as the table shows it: how deep it is and the key its expansion is kept under.
struct Shown<'a> {
    depth: usize,
    key: String,
    row: &'a AdRow,
}

/// The rows on screen: the top rows in `sort` order (campaigns first, the unmatched rows
/// after them), each expanded one followed by its children, sorted the same way.
fn shown_rows<'a>(report: &'a AdReport, sort: Column, expanded: &HashSet<String>) -> Vec<Shown<'a>> {
    fn add<'a>(
        rows: &'a [AdRow],
        depth: usize,
        parent: &str,
        sort: Column,
        expanded: &HashSet<String>,
        out: &mut Vec<Shown<'a>>,
    ) {
        let mut ordered: Vec<&AdRow> = rows.iter().collect();
        ordered.sort_by(|a, b| a.level.cmp(&b.level).then(sort.compare(a, b)));
        for row in ordered {
            let key = format!("{parent}/{}", row.id.as_deref().unwrap_or(&row.name));
            let open = expanded.contains(&key);
            out.push(Shown { depth, key: key.clone(), row });
            if open {
                add(&row.children, depth + 1, &key, sort, expanded, out);
            }
        }
    }
    let mut out = Vec::new();
    add(&report.rows, 0, "", sort, expanded, &mut out);
    out
}

/// The figures of a row as text, in column order after the name.
fn cells(row: &AdRow) -> [String; 10] {
    [
        format::tenge(row.spend),
        format::count(row.impressions),
        format::count(row.clicks),
        format::percent(row.ctr),
        format::count(row.leads),
        format::count(row.express_sales),
        format::count(row.flagship_sales),
        format::tenge(row.revenue),
        format::tenge_or_none(row.cost_per_lead),
        format::percent(row.roi),
    ]
}

/// The same figures bare, for the CSV.
fn exported(row: &AdRow) -> Vec<String> {
    let optional = |value: Option<String>| value.unwrap_or_default();
    vec![
        row.spend.to_string(),
        row.impressions.to_string(),
        row.clicks.to_string(),
        optional(row.ctr.map(|ctr| format!("{ctr:.2}"))),
        row.leads.to_string(),
        row.express_sales.to_string(),
        row.flagship_sales.to_string(),
        row.revenue.to_string(),
        optional(row.cost_per_lead.map(|cost| cost.to_string())),
        optional(row.roi.map(|roi| format!("{roi:.1}"))),
    ]
}

/// The island's props as the reloaded page carries them.
#[cfg(feature = "hydrate")]
#[derive(serde::Deserialize)]
struct FreshProps {
    report: AdReport,
}

/// «Объявления»: the report as an expandable, sortable table with its CSV; sorted by spend,
/// every campaign closed at first.
#[island]
pub fn AdsTable(report: AdReport) -> impl IntoView {
    let report = RwSignal::new(report);
    let sort = RwSignal::new(Column::Spend);
    let expanded = RwSignal::new(HashSet::<String>::new());
    live_page::on_fresh_props("ads", move |props| {
        #[cfg(feature = "hydrate")]
        if let Ok(fresh) = serde_json::from_str::<FreshProps>(props) {
            report.set(fresh.report);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = props;
    });
    let file_name = move || report.with(|report| format!("obyavleniya-{}-{}.csv", report.start, report.end));
    let csv_href = move || {
        let headers: Vec<&str> =
            std::iter::once("Уровень").chain(Column::ALL.iter().map(|(_, title)| *title)).collect();
        let rows: Vec<Vec<String>> = report.with(|report| {
            expanded.with(|expanded| {
                shown_rows(report, sort.get(), expanded)
                    .iter()
                    .map(|shown| {
                        let level = level_name(shown.row.level).to_owned();
                        [level, shown.row.name.clone()].into_iter().chain(exported(shown.row)).collect()
                    })
                    .collect()
            })
        });
        format!("data:text/csv;charset=utf-8,{}", format::url_encode(&csv_text(&headers, &rows)))
    };
    let body = move || {
        report.with(|report| {
            expanded.with(|open| {
                shown_rows(report, sort.get(), open)
                    .into_iter()
                    .map(|shown| {
                        let key = shown.key.clone();
                        let opens = !shown.row.children.is_empty();
                        let is_open = open.contains(&key);
                        let toggle = move |_| {
                            let key = key.clone();
                            expanded.update(|open| {
                                if !open.remove(&key) {
                                    open.insert(key);
                                }
                            });
                        };
                        let name = shown.row.name.clone();
                        view! {
                            <tr class=format!("ad-row level-{}", level_class(shown.row.level)) data-depth=shown.depth>
                                <th scope="row" class=format!("depth-{}", shown.depth.min(2))>
                                    {opens
                                        .then(|| {
                                            view! {
                                                <button
                                                    type="button"
                                                    class="icon expand"
                                                    aria-expanded=if is_open { "true" } else { "false" }
                                                    aria-label=format!("Раскрыть «{name}»")
                                                    on:click=toggle
                                                >
                                                    {if is_open { "▾" } else { "▸" }}
                                                </button>
                                            }
                                        })}
                                    {shown.row.name.clone()}
                                </th>
                                {cells(shown.row).into_iter().map(|cell| view! { <td class="num">{cell}</td> }).collect_view()}
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    let total = move || {
        report.with(|report| {
            let total = &report.total;
            view! {
                <th scope="row">{total.name.clone()}</th>
                {cells(total).into_iter().map(|cell| view! { <td class="num">{cell}</td> }).collect_view()}
            }
        })
    };
    view! {
        <section class="ads-report" aria-label="Объявления" data-live-island="ads">
            <div class="table-head">
                <h2>"Объявления: ROI по кампаниям, группам и объявлениям"</h2>
                <a class="csv-link" href=csv_href download=file_name>
                    "Скачать CSV"
                </a>
            </div>
            <div class="table-wrap">
                <table class="ads-table">
                    <thead>
                        <tr>
                            {Column::ALL
                                .into_iter()
                                .map(|(column, title)| {
                                    view! {
                                        <th scope="col" aria-sort=move || if sort.get() == column { "descending" } else { "none" }>
                                            <button type="button" class="sort" on:click=move |_| sort.set(column)>
                                                {title}
                                            </button>
                                        </th>
                                    }
                                })
                                .collect_view()}
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                    <tfoot>
                        <tr>{total}</tr>
                    </tfoot>
                </table>
            </div>
        </section>
    }
}

fn level_name(level: AdLevel) -> &'static str {
    match level {
        AdLevel::Campaign => "кампания",
        AdLevel::Adset => "группа",
        AdLevel::Ad => "объявление",
        AdLevel::UnmatchedSpend => "расход без кампании",
        AdLevel::UnmatchedLeads => "без объявления",
        AdLevel::Total => "итого",
    }
}

fn level_class(level: AdLevel) -> &'static str {
    match level {
        AdLevel::Campaign => "campaign",
        AdLevel::Adset => "adset",
        AdLevel::Ad => "ad",
        AdLevel::UnmatchedSpend | AdLevel::UnmatchedLeads => "unmatched",
        AdLevel::Total => "total",
    }
}
