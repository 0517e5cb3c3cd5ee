//! `/traffic/admin`: the team constructor (create, edit, archive teams and their UTM
//! rules), what attribution leaves unexplained, the texts leads receive, the integrations'
//! health and the failed jobs with a retry button. Every form is an `ActionForm`, so the
//! page works before the WASM arrives; once it has, the [`LivePage`] island sends the forms
//! in the background, says what they did and replaces the page's content (its region).

use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::components::csv_export::CsvLink;
use crate::components::data_table::{DataTable, TableRow};
use crate::components::error_template::error_template;
use crate::components::failed_jobs::FailedJobsPanel;
use crate::components::layout::AppLayout;
use crate::components::live_page::LivePage;
use crate::error::AppError;
use crate::models::UncertainNotices;
use crate::models::{AlertView, AttributionOverview, IntegrationHealth, TeamView};
use crate::server_fns::jobs::{
    get_integration_health, list_alerts, list_failed_jobs, list_uncertain_notices, CheckIntegration, RetryFailedJob,
    RetryFailedJobs, SettleUncertainNotice,
};
use crate::server_fns::teams::{get_attribution_overview, list_teams, ArchiveTeam, SaveTeam};
use crate::server_fns::traffic::{RefreshAdAccounts, SaveAdAccount, SaveManualSpend};

use super::ad_accounts::AdAccountsPanel;
use super::sales::{ManualSpendForm, SalesSection};
use super::templates::TemplatePreviews;

/// The admin's traffic page.
#[component]
pub fn TrafficAdminPage() -> impl IntoView {
    let save = ServerAction::<SaveTeam>::new();
    let archive = ServerAction::<ArchiveTeam>::new();
    let teams = Resource::new(|| (), |_| list_teams());
    let overview = Resource::new(|| (), |_| get_attribution_overview());
    let retry = ServerAction::<RetryFailedJob>::new();
    let retry_all = ServerAction::<RetryFailedJobs>::new();
    let check = ServerAction::<CheckIntegration>::new();
    let settle = ServerAction::<SettleUncertainNotice>::new();
    let health = Resource::new(|| (), |_| get_integration_health());
    let failed = Resource::new(|| (), |_| list_failed_jobs());
    let uncertain = Resource::new(|| (), |_| list_uncertain_notices());
    let alerts = Resource::new(|| (), |_| list_alerts());
    let save_spend = ServerAction::<SaveManualSpend>::new();
    let save_account = ServerAction::<SaveAdAccount>::new();
    let refresh_accounts = ServerAction::<RefreshAdAccounts>::new();

    view! {
        <AppLayout>
            <div class="page-head">
                <h1>"Трафик: продажи, команды, интеграции"</h1>
            </div>
            // No stream here: the page reloads after its forms.
            <LivePage events=Vec::new() fallback_secs=0 />
            <div data-region="admin">
                <Transition>
                    {move || Suspend::new(async move {
                        let alerts = alerts.await.ok().filter(|alerts| !alerts.is_empty())?;
                        Some(view! { <AlertsPanel alerts /> })
                    })}
                </Transition>
                <SalesSection />
                <section aria-label="Команды">
                    <h2>"Команды и атрибуция"</h2>
                    <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                        <ErrorBoundary fallback=error_template>
                            {move || Suspend::new(async move {
                                let teams = teams.await?;
                                Ok::<_, AppError>(view! { <TeamList teams save archive /> })
                            })}
                        </ErrorBoundary>
                    </Transition>
                    <details class="team-new">
                        <summary>"Новая команда"</summary>
                        <TeamForm team=None save />
                    </details>
                </section>
                <Transition>
                    {move || Suspend::new(async move {
                        teams.await.ok().map(|teams| {
                            view! {
                                <ManualSpendForm teams=teams.clone() save=save_spend />
                                <AdAccountsPanel teams save=save_account refresh=refresh_accounts />
                            }
                        })
                    })}
                </Transition>
                <Transition>
                    {move || Suspend::new(async move {
                        overview.await.ok().map(|overview| view! { <AttributionPanel overview /> })
                    })}
                </Transition>
                <TemplatePreviews />
                <Transition>
                    {move || Suspend::new(async move {
                        health.await.ok().map(|integrations| view! { <IntegrationTable integrations check /> })
                    })}
                </Transition>
                <Transition>
                    {move || Suspend::new(async move {
                        let failed = failed.await.ok().filter(|failed| failed.total > 0)?;
                        Some(view! { <FailedJobsPanel failed retry retry_all /> })
                    })}
                </Transition>
                <Transition>
                    {move || Suspend::new(async move {
                        let notices = uncertain.await.ok().filter(|notices| notices.total > 0)?;
                        Some(view! { <UncertainNoticesPanel notices settle /> })
                    })}
                </Transition>
            </div>
        </AppLayout>
    }
}

/// The teams with their rules, an edit form and an archive button each.
#[component]
fn TeamList(teams: Vec<TeamView>, save: ServerAction<SaveTeam>, archive: ServerAction<ArchiveTeam>) -> impl IntoView {
    let exported = teams
        .iter()
        .map(|team| {
            vec![
                team.name.clone(),
                team.direction.clone(),
                team.utm_source.clone().unwrap_or_default(),
                team.utm_medium.clone().unwrap_or_default(),
                team.patterns.join(", "),
                team.telegram_chat_id.clone().unwrap_or_default(),
                if team.archived { "в архиве" } else { "активна" }.to_owned(),
            ]
        })
        .collect();
    view! {
        <div class="section-head">
            <span></span>
            <CsvLink
                file_name="teams.csv"
                headers=vec!["Команда", "Направление", "utm_source", "utm_medium", "Шаблоны UTM", "Telegram", "Статус"]
                rows=exported
            />
        </div>
        <div class="table-wrap">
            <table class="teams">
                <thead>
                    <tr>
                        <th scope="col">"Команда"</th>
                        <th scope="col">"utm_source / utm_medium"</th>
                        <th scope="col">"Шаблоны UTM"</th>
                        <th scope="col">"Telegram"</th>
                        <th scope="col">"Действия"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || teams.clone() key=|team| format!("{team:?}") let:team>
                        <TeamRow team save archive />
                    </For>
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn TeamRow(team: TeamView, save: ServerAction<SaveTeam>, archive: ServerAction<ArchiveTeam>) -> impl IntoView {
    let tags = [team.utm_source.clone(), team.utm_medium.clone()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
    let (archive_label, archive_to) = if team.archived { ("Вернуть", false) } else { ("В архив", true) };
    view! {
        <tr data-team-id=team.team_id class:archived=team.archived>
            <td>
                // An SVG fill, not a style attribute: the page's CSP allows no inline style.
                <svg class="swatch" viewBox="0 0 12 12" aria-hidden="true">
                    <rect width="12" height="12" rx="2" fill=team.color.clone() />
                </svg>
                {team.emoji.clone()}
                " "
                <strong class="team-name">{team.name.clone()}</strong>
                {(!team.direction.is_empty()).then(|| view! { <div class="muted">{team.direction.clone()}</div> })}
                {team.archived.then(|| view! { <div class="muted">"в архиве"</div> })}
            </td>
            <td>{if tags.is_empty() { "—".to_owned() } else { tags }}</td>
            <td class="patterns">{team.patterns.join(", ")}</td>
            <td>{team.telegram_chat_id.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>
                <details>
                    <summary>"Изменить"</summary>
                    <TeamForm team=Some(team.clone()) save />
                </details>
                <ActionForm action=archive attr:class="inline">
                    <input type="hidden" name="team_id" value=team.team_id />
                    <input type="hidden" name="archived" value=archive_to.to_string() />
                    <button type="submit" class="link">
                        {archive_label}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// The fields of a team; empty for a new one.
#[component]
fn TeamForm(team: Option<TeamView>, save: ServerAction<SaveTeam>) -> impl IntoView {
    let value = |get: fn(&TeamView) -> String| team.as_ref().map(get).unwrap_or_default();
    let (name, direction, color, emoji) = (
        value(|team| team.name.clone()),
        value(|team| team.direction.clone()),
        value(|team| team.color.clone()),
        value(|team| team.emoji.clone()),
    );
    let (utm_source, utm_medium, patterns, telegram_chat_id) = (
        value(|team| team.utm_source.clone().unwrap_or_default()),
        value(|team| team.utm_medium.clone().unwrap_or_default()),
        value(|team| team.patterns.join(", ")),
        value(|team| team.telegram_chat_id.clone().unwrap_or_default()),
    );
    let team_id = team.as_ref().map(|team| team.team_id);
    let label = if team_id.is_some() { "Сохранить" } else { "Создать команду" };
    view! {
        <ActionForm action=save attr:class="team-form">
            {team_id.map(|team_id| view! { <input type="hidden" name="team[team_id]" value=team_id /> })}
            <label>"Название" <input name="team[name]" required value=name /></label>
            <label>"Направление" <input name="team[direction]" value=direction /></label>
            <label>"Цвет" <input name="team[color]" placeholder="#00FF88" value=color /></label>
            <label>"Эмодзи" <input name="team[emoji]" placeholder="📊" value=emoji /></label>
            <label>"utm_source" <input name="team[utm_source]" value=utm_source /></label>
            <label>"utm_medium" <input name="team[utm_medium]" value=utm_medium /></label>
            <label class="wide">
                "Шаблоны UTM (через запятую)" <textarea name="team[patterns]" rows="2">{patterns}</textarea>
            </label>
            <label>"Telegram-чат" <input name="team[telegram_chat_id]" placeholder="-100…" value=telegram_chat_id /></label>
            <button type="submit">{label}</button>
        </ActionForm>
    }
}

/// Re-attribution progress and the tags no team claims.
#[component]
fn AttributionPanel(overview: AttributionOverview) -> impl IntoView {
    let progress = overview.reattribution_percent.map(|percent| {
        view! {
            <p class="progress" role="status">
                "Лиды и продажи перераспределяются по новым правилам: " {percent} "%"
            </p>
        }
    });
    let dash = || "—".to_owned();
    let rows = overview
        .unattributed_tags
        .into_iter()
        .map(|row| {
            TableRow::plain(vec![
                row.utm_source.unwrap_or_else(dash),
                row.utm_campaign.unwrap_or_else(dash),
                row.leads.to_string(),
                row.sales.to_string(),
            ])
        })
        .collect();
    view! {
        <section class="attribution" aria-label="Атрибуция">
            <h2>
                {format!(
                    "Без команды за 30 дней: лидов {}, продаж {}",
                    overview.unattributed_leads,
                    overview.unattributed_sales,
                )}
            </h2>
            {progress}
            <DataTable
                title="Метки без команды"
                headers=vec!["utm_source", "utm_campaign", "Лидов", "Продаж"]
                rows
                file_name="unattributed-tags.csv"
                numeric=vec![2, 3]
                empty="Все лиды и продажи за 30 дней распределены"
            />
        </section>
    }
}

/// Each outbound integration: mode and state, last success, last error, queue; a paused
/// one says why and when it is probed next, with «Проверить сейчас».
#[component]
fn IntegrationTable(integrations: Vec<IntegrationHealth>, check: ServerAction<CheckIntegration>) -> impl IntoView {
    let dash = || "—".to_owned();
    let paused: Vec<IntegrationHealth> =
        integrations.iter().filter(|health| health.state == "paused").cloned().collect();
    let configured: Vec<(String, String)> = integrations
        .iter()
        .filter(|health| health.configured && health.state != "paused")
        .map(|health| (health.name.clone(), health.title.clone()))
        .collect();
    let rows = integrations
        .into_iter()
        .map(|health| {
            let error = match (health.last_error, health.last_error_local) {
                (Some(error), Some(at)) => format!("{at}: {error}"),
                (Some(error), None) => error,
                _ => dash(),
            };
            let state = match health.state.as_str() {
                "paused" => "приостановлена",
                "degraded" => "сбои",
                _ => "работает",
            };
            let cells = vec![
                health.title,
                match (health.configured, health.usage_percent, health.token_expires_local) {
                    (true, Some(percent), _) => format!("{state} · лимит запросов {percent}%"),
                    (true, None, Some(expires)) => format!("{state} · токен до {expires}"),
                    (true, None, None) => state.to_owned(),
                    (false, ..) => "тестовый режим".to_owned(),
                },
                health.last_success_local.unwrap_or_else(dash),
                error,
                health.pending.to_string(),
                health.failed.to_string(),
            ];
            TableRow { key: Some(health.name), ..TableRow::plain(cells) }
        })
        .collect();
    view! {
        <For each=move || paused.clone() key=|health| (health.name.clone(), health.paused_at) let:health>
            <PausedIntegration health check />
        </For>
        <DataTable
            title="Интеграции"
            headers=vec!["Сервис", "Режим", "Последний успех", "Последняя ошибка", "В очереди", "Ошибок"]
            rows
            file_name="integrations.csv"
            numeric=vec![4, 5]
        />
        <div class="integration-checks">
            <For each=move || configured.clone() key=|(name, _)| name.clone() let:integration>
                <ActionForm action=check attr:class="inline">
                    <input type="hidden" name="name" value=integration.0.clone() />
                    <button type="submit" class="link">{format!("Проверить {}", integration.1)}</button>
                </ActionForm>
            </For>
        </div>
    }
}

/// A paused integration: why, since when, when it is probed next, and «Проверить сейчас».
#[component]
fn PausedIntegration(health: IntegrationHealth, check: ServerAction<CheckIntegration>) -> impl IntoView {
    let dash = || "—".to_owned();
    let details = format!(
        "С {} задачи ждут в очереди ({}), попытки не тратятся. Следующая проверка: {}.",
        health.paused_local.unwrap_or_else(dash),
        health.pending,
        health.next_probe_local.unwrap_or_else(dash),
    );
    let (row, name) = (health.name.clone(), health.name);
    view! {
        <section class="paused-integration" role="alert" data-integration=row>
            <h3>{format!("⏸ {} приостановлена", health.title)}</h3>
            <p>{health.pause_reason.unwrap_or_default()}</p>
            <p class="muted">{details}</p>
            <ActionForm action=check attr:class="inline">
                <input type="hidden" name="name" value=name />
                <button type="submit">"Проверить сейчас"</button>
            </ActionForm>
        </section>
    }
}

/// «Оповещения»: what the watcher found wrong, open first, and what cleared lately.
#[component]
fn AlertsPanel(alerts: Vec<AlertView>) -> impl IntoView {
    let open = alerts.iter().filter(|alert| alert.cleared_local.is_none()).count();
    view! {
        <section class="failed-jobs alerts" aria-label="Оповещения">
            <h2>"Оповещения: открыто " {open}</h2>
            <ul>
                {alerts
                    .into_iter()
                    .map(|alert| {
                        let state = match &alert.cleared_local {
                            Some(cleared) => format!("решено {cleared}"),
                            None => "открыто".to_owned(),
                        };
                        view! {
                            <li data-alert-id=alert.alert_id class:resolved=alert.cleared_local.is_some()>
                                <span class="what">{alert.title}</span>
                                <span class="error">{alert.detail}</span>
                                <span class="muted nowrap">{format!("с {}", alert.raised_local)}</span>
                                <span class="nowrap">{state}</span>
                                <span class="muted">{alert.notice}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// Sale announcements whose outcome is unknown: the admin looks in the chat and either
/// sends it again or marks it as there. Never sent again by itself.
#[component]
fn UncertainNoticesPanel(notices: UncertainNotices, settle: ServerAction<SettleUncertainNotice>) -> impl IntoView {
    let UncertainNotices { total, notices } = notices;
    view! {
        <section class="failed-jobs uncertain-notices" aria-label="Сообщения о продажах под вопросом">
            <h2>"Неизвестно, дошло ли сообщение о продаже: " {total}</h2>
            <p class="muted">"Проверьте чат команды: если сообщения нет — отправьте ещё раз, если есть — отметьте."</p>
            <ul>
                <For each=move || notices.clone() key=|notice| notice.sale_id let:notice>
                    <li data-sale-id=notice.sale_id>
                        <span class="what">{notice.team_name.clone().unwrap_or_else(|| "Без команды".to_owned())}</span>
                        <span class="name">{notice.contact_name.clone().unwrap_or_else(|| "—".to_owned())}</span>
                        <span>{crate::format::tenge(notice.amount)}</span>
                        <span class="error">{notice.reason.clone().unwrap_or_default()}</span>
                        <span class="muted nowrap">{notice.at_local.clone().unwrap_or_default()}</span>
                        <ActionForm action=settle attr:class="inline">
                            <input type="hidden" name="sale_id" value=notice.sale_id />
                            <input type="hidden" name="send_again" value="true" />
                            <button type="submit">"Отправить ещё раз"</button>
                        </ActionForm>
                        <ActionForm action=settle attr:class="inline">
                            <input type="hidden" name="sale_id" value=notice.sale_id />
                            <input type="hidden" name="send_again" value="false" />
                            <button type="submit" class="link">"Сообщение есть в чате"</button>
                        </ActionForm>
                    </li>
                </For>
            </ul>
        </section>
    }
}
