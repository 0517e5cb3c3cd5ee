//! `/target`: every lead with its delivery and CRM status, refreshing itself.
//!
//! The filters and the page cursor live in the URL, so a refresh, a reload or a shared
//! link shows the same rows. The page renders completely on the server; its
//! [`LivePage`] island replaces the cards, the failed jobs and the table (its regions)
//! when a lead or a status changes, and on a timer as the fallback, so that nothing
//! flickers or loses its scroll.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::components::delivery_status::{describe, DeliveryStatus};
use crate::components::error_template::error_template;
use crate::components::failed_jobs::FailedJobsPanel;
use crate::components::layout::AppLayout;
use crate::components::live_page::{request_refresh, LivePage};
use crate::components::stat_card::StatCard;
use crate::error::AppError;
use crate::models::{Channel, Confidence, DeliveryStatus as Status, DeliveryStep, LeadListItem, LeadQuery};
use crate::server_fns::jobs::{list_failed_jobs, ResendLeadMessage, RetryFailedJob, RetryFailedJobs};
use crate::server_fns::leads::{get_lead_stats, get_leads_page_settings, list_leads, SyncOnFirstVisit, SyncWithCrm};

/// The session-storage key that marks this browser session as synced with AmoCRM.
#[cfg(feature = "hydrate")]
const FIRST_SYNC_KEY: &str = "leadtrack.crm-synced";

/// The admin's leads dashboard.
#[component]
pub fn TargetPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let params = params.read();
        let text = |key: &str| params.get(key).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        LeadQuery {
            q: text("q"),
            source: text("source"),
            from: text("from"),
            to: text("to"),
            team: text("team"),
            email_status: text("email_status"),
            sms_status: text("sms_status"),
            crm: text("crm"),
            utm_campaign: text("utm_campaign"),
            before: text("before").and_then(|value| value.parse().ok()),
            after: text("after").and_then(|value| value.parse().ok()),
        }
    });
    let retry = ServerAction::<RetryFailedJob>::new();
    let retry_all = ServerAction::<RetryFailedJobs>::new();
    let resend = ServerAction::<ResendLeadMessage>::new();
    let settings = Resource::new(|| (), |_| get_leads_page_settings());
    let page = Resource::new(move || query.get(), list_leads);
    let stats = Resource::new(move || LeadQuery { before: None, after: None, ..query.get() }, get_lead_stats);
    let failed = Resource::new(|| (), |_| list_failed_jobs());

    view! {
        <AppLayout>
            <div class="page-head">
                <h1>"Лиды"</h1>
                <Transition>
                    {move || Suspend::new(async move {
                        settings.await.ok().map(|settings| {
                            let badge = settings.test_mode.then(|| {
                                view! {
                                    <span
                                        class="badge test-mode"
                                        title="Ключи Resend или Mobizon не настроены: письма и SMS записываются в базу, но не отправляются"
                                    >
                                        "тестовый режим"
                                    </span>
                                }
                            });
                            // At once when a lead or a status changes, and on a timer as the fallback.
                            view! {
                                {badge}
                                <LivePage
                                    events=vec!["lead".to_owned(), "status".to_owned()]
                                    fallback_secs=settings.refresh_secs
                                />
                            }
                        })
                    })}
                </Transition>
                <a class="button" href=move || lead_query_href(&query.get()) data-refresh="">
                    "Обновить"
                </a>
                <CrmSyncButton />
            </div>
            <div data-region="cards">
                <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                    <ErrorBoundary fallback=error_template>
                        {move || Suspend::new(async move {
                            let stats = stats.await?;
                            Ok::<_, AppError>(
                                view! {
                                    <section class="cards" aria-label="Сводка">
                                        <StatCard label="Всего лидов" value=stats.total />
                                        <StatCard label="В AmoCRM" value=stats.in_crm />
                                        <StatCard label="Email отправлен" value=stats.email_sent />
                                        <StatCard label="Email открыт" value=stats.email_opened />
                                        <StatCard label="SMS отправлено" value=stats.sms_sent />
                                        <StatCard label="SMS доставлено" value=stats.sms_delivered />
                                        <StatCard label="Email пропущено" value=stats.email_skipped />
                                        <StatCard label="SMS пропущено" value=stats.sms_skipped />
                                    </section>
                                },
                            )
                        })}
                    </ErrorBoundary>
                </Transition>
            </div>
            <div data-region="failed">
                <Transition>
                    {move || Suspend::new(async move {
                        let failed = failed.await.ok().filter(|failed| failed.total > 0)?;
                        Some(view! { <FailedJobsPanel failed retry retry_all /> })
                    })}
                </Transition>
            </div>
            <Transition>
                {move || Suspend::new(async move {
                    settings.await.ok().map(|settings| view! { <LeadFilterForm query sources=settings.sources teams=settings.teams /> })
                })}
            </Transition>
            <div data-region="leads">
                <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                    <ErrorBoundary fallback=error_template>
                        {move || Suspend::new(async move {
                            let crm_base_url = settings.await?.crm_base_url;
                            let page = page.await?;
                            let current = query.get_untracked();
                            let newer = page.prev_after.map(|id| LeadQuery { after: Some(id), before: None, ..current.clone() });
                            let older = page.next_before.map(|id| LeadQuery { before: Some(id), after: None, ..current.clone() });
                            let empty = page.leads.is_empty();
                            let leads = page.leads;
                            Ok::<_, AppError>(
                                view! {
                                    <div class="table-wrap">
                                        <table class="leads">
                                            <thead>
                                                <tr>
                                                    <th scope="col">"Имя и email"</th>
                                                    <th scope="col">"Телефон"</th>
                                                    <th scope="col">"Источник"</th>
                                                    <th scope="col">"Команда"</th>
                                                    <th scope="col">"Email"</th>
                                                    <th scope="col">"SMS"</th>
                                                    <th scope="col">"Сделка AmoCRM"</th>
                                                    <th scope="col">"Создан"</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                <For
                                                    each=move || leads.clone()
                                                    key=|lead| (lead.lead_id, lead.updated_at)
                                                    let:lead
                                                >
                                                    <LeadRow lead crm_base_url=crm_base_url.clone() resend />
                                                </For>
                                            </tbody>
                                        </table>
                                    </div>
                                    <Show when=move || empty>
                                        <p class="empty">"Лидов не найдено."</p>
                                    </Show>
                                    <nav class="pager" aria-label="Страницы">
                                        {newer.map(|q| view! { <a href=lead_query_href(&q) rel="prev">"← Новее"</a> })}
                                        {older.map(|q| view! { <a href=lead_query_href(&q) rel="next">"Старее →"</a> })}
                                    </nav>
                                },
                            )
                        })}
                    </ErrorBoundary>
                </Transition>
            </div>
        </AppLayout>
    }
}

/// Search and filters; a plain GET form, so it works before the WASM arrives.
#[component]
fn LeadFilterForm(query: Memo<LeadQuery>, sources: Vec<String>, teams: Vec<String>) -> impl IntoView {
    let current = query.get_untracked();
    let source_options = std::iter::once((String::new(), "Все источники".to_owned()))
        .chain(sources.into_iter().map(|source| (source.clone(), source)))
        .collect();
    let team_options = [(String::new(), "Все команды".to_owned()), ("none".to_owned(), "Без команды".to_owned())]
        .into_iter()
        .chain(teams.into_iter().map(|team| (team.clone(), team)))
        .collect();
    let status_options = |channel: Channel| {
        std::iter::once((String::new(), "Любой статус".to_owned()))
            .chain(
                Status::of_channel(channel)
                    .map(|status| (status.as_str().to_owned(), describe(channel, status).2.to_owned())),
            )
            .collect()
    };
    let crm_options = vec![
        (String::new(), "AmoCRM: все".to_owned()),
        ("linked".to_owned(), "Есть в AmoCRM".to_owned()),
        ("unlinked".to_owned(), "Нет в AmoCRM".to_owned()),
    ];
    view! {
        <Form method="GET" action="/target" noscroll=true attr:class="filters" attr:aria-label="Фильтры">
            <input
                type="search"
                name="q"
                placeholder="Имя, email или телефон"
                aria-label="Поиск"
                value=current.q.unwrap_or_default()
            />
            <FilterSelect name="source" label="Источник" options=source_options selected=current.source />
            <FilterSelect name="team" label="Команда" options=team_options selected=current.team />
            <FilterSelect name="email_status" label="Статус email" options=status_options(Channel::Email) selected=current.email_status />
            <FilterSelect name="sms_status" label="Статус SMS" options=status_options(Channel::Sms) selected=current.sms_status />
            <FilterSelect name="crm" label="AmoCRM" options=crm_options selected=current.crm />
            <input
                type="search"
                name="utm_campaign"
                placeholder="UTM-кампания"
                aria-label="UTM-кампания содержит"
                value=current.utm_campaign.unwrap_or_default()
            />
            <label>"с " <input type="date" name="from" aria-label="С даты" value=current.from.unwrap_or_default() /></label>
            <label>"по " <input type="date" name="to" aria-label="По дату" value=current.to.unwrap_or_default() /></label>
            <button type="submit">"Показать"</button>
            <a href="/target">"Сбросить"</a>
        </Form>
    }
}

/// A filter's drop-down: `(value, label)` options, the empty value meaning "any".
#[component]
fn FilterSelect(
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    selected: Option<String>,
) -> impl IntoView {
    let selected = selected.unwrap_or_default();
    view! {
        <select name=name aria-label=label>
            {options
                .into_iter()
                .map(|(value, text)| {
                    let chosen = value == selected;
                    view! {
                        <option value=value selected=chosen>
                            {text}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    }
}

/// A lead's email or SMS status with a button that sends that message again; a plain
/// form, so it works before the WASM arrives.
#[component]
fn DeliveryCell(
    lead_id: i64,
    channel: Channel,
    status: Status,
    at: Option<String>,
    error: Option<String>,
    /// A skipped duplicate: the lead that was messaged instead.
    duplicate_of: Option<i64>,
    /// Every status the message reached.
    history: Vec<DeliveryStep>,
    resend: ServerAction<ResendLeadMessage>,
) -> impl IntoView {
    let (name, label) = match channel {
        Channel::Email => ("email", "Отправить email снова"),
        Channel::Sms => ("sms", "Отправить SMS снова"),
    };
    view! {
        <td class="nowrap">
            <DeliveryStatus channel status at error history />
            {duplicate_of
                .map(|other| {
                    view! {
                        <a class="duplicate-of" href=format!("/target?q=%23{other}") title="Лид, которому сообщение ушло">
                            {format!("#{other}")}
                        </a>
                    }
                })}
            <ActionForm action=resend attr:class="inline resend">
                <input type="hidden" name="lead_id" value=lead_id />
                <input type="hidden" name="channel" value=name />
                <button type="submit" class="icon" title=label aria-label=label>
                    "↻"
                </button>
            </ActionForm>
        </td>
    }
}

/// *Синхронизировать с AmoCRM*: disabled while it runs, then the counts or the reason. The
/// first visit of a browser session syncs by itself; the page reloads after each sync.
#[island]
fn CrmSyncButton() -> impl IntoView {
    let sync = ServerAction::<SyncWithCrm>::new();
    let first_sync = ServerAction::<SyncOnFirstVisit>::new();
    // Effects run only in the browser.
    Effect::new(move || {
        #[cfg(feature = "hydrate")]
        if let Ok(Some(storage)) = window().session_storage() {
            if storage.get_item(FIRST_SYNC_KEY).ok().flatten().is_none() {
                let _ = storage.set_item(FIRST_SYNC_KEY, "1");
                first_sync.dispatch(SyncOnFirstVisit {});
            }
        }
    });
    Effect::new(move |_| {
        if sync.version().get() + first_sync.version().get() > 0 {
            request_refresh();
        }
    });
    let outcome = move || match sync.value().get() {
        Some(Ok(counts)) => {
            let found = format!(
                "Получено сделок: {}, сопоставлено: {}, обновлено: {}, не найдено у нас: {}, новых продаж: {}; ",
                counts.fetched, counts.matched, counts.updated, counts.not_found, counts.sales_recorded
            );
            let missing = LeadQuery {
                crm: Some("unlinked".to_owned()),
                from: Some(counts.missing_since.clone()),
                ..LeadQuery::default()
            };
            Some(
                view! {
                    {found}
                    <a href=lead_query_href(&missing) class="missing-in-crm">
                        {format!("наших лидов нет в AmoCRM: {}", counts.missing_in_crm)}
                    </a>
                }
                .into_any(),
            )
        }
        Some(Err(error)) => Some(view! { {error.to_string()} }.into_any()),
        None => None,
    };
    view! {
        <ActionForm action=sync attr:class="inline crm-sync">
            <button type="submit" disabled=move || sync.pending().get()>
                {move || if sync.pending().get() { "Синхронизация…" } else { "Синхронизировать с AmoCRM" }}
            </button>
        </ActionForm>
        <span class="muted" role="status">
            {outcome}
        </span>
    }
}

/// The lead's team, with why attribution chose it as the tooltip and under the name.
#[component]
fn TeamCell(team: Option<String>, confidence: Option<Confidence>, rule: Option<String>) -> impl IntoView {
    let confidence = confidence.unwrap_or(Confidence::Low).russian();
    let reason = rule.map(|rule| format!("{rule} · уверенность: {confidence}"));
    let title = reason.clone();
    view! {
        <td class="team" title=title>
            {match team {
                Some(team) => view! { <span>{team}</span> }.into_any(),
                None => view! { <span class="muted">"без команды"</span> }.into_any(),
            }}
            <div class="muted">{reason}</div>
        </td>
    }
}

/// One lead in the table.
#[component]
fn LeadRow(lead: LeadListItem, crm_base_url: Option<String>, resend: ServerAction<ResendLeadMessage>) -> impl IntoView {
    let deal = lead.crm_deal_id.map(|deal_id| match crm_base_url {
        Some(base) => view! {
            <a href=format!("{base}/leads/detail/{deal_id}") target="_blank" rel="noopener">
                {deal_id}
            </a>
        }
        .into_any(),
        None => view! { <span>{deal_id}</span> }.into_any(),
    });
    let campaign = lead.utm_source.clone().map(|utm| view! { <div class="muted">{utm}</div> });
    view! {
        <tr data-lead-id=lead.lead_id>
            <td>
                <div class="name">{lead.name}</div>
                <div class="muted">{lead.email}</div>
            </td>
            <td class="nowrap">{lead.phone}</td>
            <td>{lead.source} {campaign}</td>
            <TeamCell team=lead.team confidence=lead.attribution_confidence rule=lead.attribution_rule />
            <DeliveryCell
                lead_id=lead.lead_id
                channel=Channel::Email
                status=lead.email_status
                at=lead.email_status_at_local
                error=lead.email_error
                duplicate_of=lead.email_duplicate_of
                history=lead.email_history
                resend
            />
            <DeliveryCell
                lead_id=lead.lead_id
                channel=Channel::Sms
                status=lead.sms_status
                at=lead.sms_status_at_local
                error=lead.sms_error
                duplicate_of=lead.sms_duplicate_of
                history=lead.sms_history
                resend
            />
            <td>{deal.unwrap_or_else(|| view! { <span class="muted">"—"</span> }.into_any())}</td>
            <td class="nowrap">{lead.created_at_local}</td>
        </tr>
    }
}

/// `/target` with `query` as URL parameters.
fn lead_query_href(query: &LeadQuery) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut text = |key, value: &Option<String>| {
        if let Some(value) = value {
            pairs.push((key, value.clone()));
        }
    };
    text("q", &query.q);
    text("source", &query.source);
    text("from", &query.from);
    text("to", &query.to);
    text("team", &query.team);
    text("email_status", &query.email_status);
    text("sms_status", &query.sms_status);
    text("crm", &query.crm);
    text("utm_campaign", &query.utm_campaign);
    if let Some(id) = query.before {
        pairs.push(("before", id.to_string()));
    }
    if let Some(id) = query.after {
        pairs.push(("after", id.to_string()));
    }
    if pairs.is_empty() {
        return "/target".to_owned();
    }
    let encoded: Vec<String> =
        pairs.iter().map(|(key, value)| format!("{key}={}", crate::format::url_encode(value))).collect();
    format!("/target?{}", encoded.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_cursor_round_trip_through_the_url() {
        let query = LeadQuery {
            q: Some("айгерим +7".into()),
            source: Some("proftest".into()),
            before: Some(42),
            ..Default::default()
        };
        assert_eq!(
            lead_query_href(&query),
            "/target?q=%D0%B0%D0%B9%D0%B3%D0%B5%D1%80%D0%B8%D0%BC%20%2B7&source=proftest&before=42"
        );
        assert_eq!(lead_query_href(&LeadQuery::default()), "/target");
    }
}
