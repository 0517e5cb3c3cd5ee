//! The sales part of `/traffic/admin`: sales and revenue by team and by day, week or
//! month (a chart stacked by team above the tables), UTM sources and campaigns, each table with CSV export, and the manual spend
//! entry. The range and grouping live in the URL.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::hooks::use_query_map;

use crate::components::charts::SalesChart;
use crate::components::data_table::{DataTable, TableRow};
use crate::components::error_template::error_template;
use crate::components::range_picker::{range_query, RangePicker};
use crate::error::AppError;
use crate::format;
use crate::models::{SaleLine, SalesReport, SalesReportQuery, TeamView, UtmRow};
use crate::server_fns::traffic::{get_sales_report, SaveManualSpend};

const GROUPINGS: &[(&str, &str)] = &[("day", "по дням"), ("week", "по неделям"), ("month", "по месяцам")];

/// Sales tables for the range in the URL.
#[component]
pub fn SalesSection() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let query_map = query_map.read();
        let text =
            |key: &str| query_map.get(key).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        SalesReportQuery { range: text("range"), start: text("start"), end: text("end"), by: text("by") }
    });
    let report = Resource::new(move || query.get(), get_sales_report);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
            <ErrorBoundary fallback=error_template>
                {move || Suspend::new(async move {
                    let report = report.await?;
                    Ok::<_, AppError>(view! { <SalesTables report /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn SalesTables(report: SalesReport) -> impl IntoView {
    let span = format!("{}-{}", report.start, report.end);
    let range = range_query(report.range.as_deref(), &report.start, &report.end);
    let groupings = GROUPINGS
        .iter()
        .map(|(value, caption)| {
            let active = report.by == *value;
            view! {
                <a href=format!("/traffic/admin{range}&by={value}") class:active=active aria-current=active.then_some("true")>
                    {*caption}
                </a>
            }
        })
        .collect_view();
    let by_team = report
        .by_team
        .iter()
        .map(|row| TableRow {
            key: Some(row.team.clone()),
            shown: vec![
                row.team.clone(),
                format::count(row.express_sales),
                format::count(row.flagship_sales),
                format::count(row.other_sales),
                format::tenge(row.revenue),
            ],
            exported: vec![
                row.team.clone(),
                row.express_sales.to_string(),
                row.flagship_sales.to_string(),
                row.other_sales.to_string(),
                row.revenue.to_string(),
            ],
        })
        .collect();
    let by_period = report
        .by_period
        .iter()
        .map(|row| TableRow {
            key: None,
            shown: vec![row.period.clone(), row.team.clone(), format::count(row.sales), format::tenge(row.revenue)],
            exported: vec![row.period.clone(), row.team.clone(), row.sales.to_string(), row.revenue.to_string()],
        })
        .collect();
    view! {
        <div class="page-head">
            <h2>"Продажи и выручка"</h2>
            <span class="muted">{format!("{} — {}", format::date(&report.start), format::date(&report.end))}</span>
        </div>
        <RangePicker
            base="/traffic/admin".to_owned()
            range=report.range.clone()
            start=report.start.clone()
            end=report.end.clone()
            keep=vec![("by", report.by.clone())]
        />
        <nav class="chips" aria-label="Группировка">
            {groupings}
        </nav>
        <SalesChart teams=report.by_team.iter().map(|row| row.team.clone()).collect() by_period=report.by_period.clone() />
        <div class="report-grid">
            <DataTable
                title="Продажи по командам"
                headers=vec!["Команда", "Express", "Флагман", "Другие", "Выручка, ₸"]
                rows=by_team
                file_name=format!("sales-by-team-{span}.csv")
                numeric=vec![1, 2, 3, 4]
            />
            <DataTable
                title="Продажи по периодам"
                headers=vec!["Период", "Команда", "Продаж", "Выручка, ₸"]
                rows=by_period
                file_name=format!("sales-by-{}-{span}.csv", report.by)
                numeric=vec![2, 3]
            />
        </div>
        <DataTable
            title="Последние продажи"
            headers=vec!["Дата", "Клиент", "Продукт", "Сумма, ₸", "Команда", "Telegram", "Meta"]
            rows=sale_rows(&report.recent)
            file_name=format!("sales-{span}.csv")
            numeric=vec![3]
        />
        <DataTable
            title="UTM-источники"
            headers=vec!["utm_source", "Лидов", "Продаж", "Выручка, ₸", "Конверсия, %"]
            rows=utm_rows(&report.sources, false)
            file_name=format!("utm-sources-{span}.csv")
            numeric=vec![1, 2, 3, 4]
        />
        <DataTable
            title="UTM-кампании"
            headers=vec!["utm_source", "utm_campaign", "Лидов", "Продаж", "Выручка, ₸", "Конверсия, %"]
            rows=utm_rows(&report.campaigns, true)
            file_name=format!("utm-campaigns-{span}.csv")
            numeric=vec![2, 3, 4, 5]
        />
    }
}

fn sale_rows(sales: &[SaleLine]) -> Vec<TableRow> {
    sales
        .iter()
        .map(|sale| {
            let product = match sale.product.as_str() {
                "express" => "Express",
                "flagship" => "Флагман",
                _ => "Другое",
            };
            let amount = if sale.cancelled { "отменена".to_owned() } else { format::tenge(sale.amount) };
            let cells = [
                sale.sold_local.clone(),
                sale.contact_name.clone().unwrap_or_else(|| "—".to_owned()),
                product.to_owned(),
                amount,
                sale.team.clone().unwrap_or_else(|| "Без команды".to_owned()),
                sale.telegram.clone(),
                sale.meta.clone(),
            ];
            let mut exported = cells.to_vec();
            exported[3] = sale.amount.to_string();
            TableRow { key: Some(format!("sale-{}", sale.sale_id)), shown: cells.to_vec(), exported }
        })
        .collect()
}

fn utm_rows(rows: &[UtmRow], with_campaign: bool) -> Vec<TableRow> {
    let tag = |value: &str| if value.is_empty() { "—".to_owned() } else { value.to_owned() };
    rows.iter()
        .map(|row| {
            let mut shown = vec![tag(&row.utm_source)];
            let mut exported = vec![row.utm_source.clone()];
            if with_campaign {
                shown.push(tag(&row.utm_campaign));
                exported.push(row.utm_campaign.clone());
            }
            shown.extend([
                format::count(row.leads),
                format::count(row.sales),
                format::tenge(row.revenue),
                format::percent(row.conversion),
            ]);
            exported.extend([
                row.leads.to_string(),
                row.sales.to_string(),
                row.revenue.to_string(),
                row.conversion.map(|value| format!("{value:.2}").replace('.', ",")).unwrap_or_default(),
            ]);
            TableRow { key: None, shown, exported }
        })
        .collect()
}

/// Spend typed in by hand for a team and day, until an ad account reports it.
#[component]
pub fn ManualSpendForm(teams: Vec<TeamView>, save: ServerAction<SaveManualSpend>) -> impl IntoView {
    view! {
        <section class="manual-spend" aria-label="Расход вручную">
            <h2>"Расход вручную"</h2>
            <ActionForm action=save attr:class="filters" attr:data-done="Расход сохранён">
                <label>
                    "Команда "
                    <select name="team_id" required>
                        {teams
                            .into_iter()
                            .filter(|team| !team.archived)
                            .map(|team| view! { <option value=team.team_id.to_string()>{team.name}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>"Дата " <input type="date" name="date" required /></label>
                <label>"Сумма, ₸ " <input type="text" name="amount" inputmode="numeric" required /></label>
                <button type="submit">"Сохранить расход"</button>
            </ActionForm>
        </section>
    }
}
