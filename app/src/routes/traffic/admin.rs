//! `/traffic/admin`: the team constructor (create, edit, archive teams and their UTM
//! rules), what attribution leaves unexplained, the integrations' health and the failed
//! jobs with a retry button. Every form is an `ActionForm`, so the
//! page works before the WASM arrives.

use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::components::error_template::error_template;
use crate::components::failed_jobs::FailedJobsPanel;
use crate::components::layout::AppLayout;
use crate::error::AppError;
use crate::models::{AttributionOverview, IntegrationHealth, TeamView};
use crate::server_fns::jobs::{get_integration_health, list_failed_jobs, RetryFailedJob};
use crate::server_fns::teams::{get_attribution_overview, list_teams, ArchiveTeam, SaveTeam};

/// The admin's traffic page.
#[component]
pub fn TrafficAdminPage() -> impl IntoView {
    let save = ServerAction::<SaveTeam>::new();
    let archive = ServerAction::<ArchiveTeam>::new();
    let version = move || (save.version().get(), archive.version().get());
    let teams = Resource::new(version, |_| list_teams());
    let overview = Resource::new(version, |_| get_attribution_overview());
    let retry = ServerAction::<RetryFailedJob>::new();
    let health = Resource::new(move || retry.version().get(), |_| get_integration_health());
    let failed = Resource::new(move || retry.version().get(), |_| list_failed_jobs());
    let save_error = move || match save.value().get() {
        Some(Err(error)) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }),
        _ => None,
    };

    view! {
        <AppLayout>
            <div class="page-head">
                <h1>"Команды и атрибуция"</h1>
            </div>
            {save_error}
            <section aria-label="Команды">
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
                    overview.await.ok().map(|overview| view! { <AttributionPanel overview /> })
                })}
            </Transition>
            <Transition>
                {move || Suspend::new(async move {
                    health.await.ok().map(|integrations| view! { <IntegrationTable integrations /> })
                })}
            </Transition>
            <Transition>
                {move || Suspend::new(async move {
                    let failed = failed.await.ok().filter(|failed| failed.total > 0)?;
                    Some(view! { <FailedJobsPanel total=failed.total jobs=failed.jobs retry /> })
                })}
            </Transition>
        </AppLayout>
    }
}

/// The teams with their rules, an edit form and an archive button each.
#[component]
fn TeamList(teams: Vec<TeamView>, save: ServerAction<SaveTeam>, archive: ServerAction<ArchiveTeam>) -> impl IntoView {
    view! {
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
                <span class="swatch" style=format!("background:{}", team.color)></span>
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
                "Лиды перераспределяются по новым правилам: " {percent} "%"
            </p>
        }
    });
    let rows = overview.unattributed_tags;
    view! {
        <section class="attribution" aria-label="Атрибуция">
            <h2>"Без команды за 30 дней: " {overview.unattributed_leads}</h2>
            {progress}
            <Show when={
                let empty = rows.is_empty();
                move || !empty
            }>
                <table class="unattributed">
                    <thead>
                        <tr>
                            <th scope="col">"utm_source"</th>
                            <th scope="col">"utm_campaign"</th>
                            <th scope="col">"Лидов"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .clone()
                            .into_iter()
                            .map(|row| {
                                view! {
                                    <tr>
                                        <td>{row.utm_source.unwrap_or_else(|| "—".to_owned())}</td>
                                        <td>{row.utm_campaign.unwrap_or_else(|| "—".to_owned())}</td>
                                        <td>{row.leads}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </Show>
        </section>
    }
}

/// Each outbound integration: mode, last success, last error, queue.
#[component]
fn IntegrationTable(integrations: Vec<IntegrationHealth>) -> impl IntoView {
    let dash = || "—".to_owned();
    view! {
        <section class="integrations" aria-label="Интеграции">
            <h2>"Интеграции"</h2>
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Сервис"</th>
                        <th scope="col">"Режим"</th>
                        <th scope="col">"Последний успех"</th>
                        <th scope="col">"Последняя ошибка"</th>
                        <th scope="col">"В очереди"</th>
                        <th scope="col">"Ошибок"</th>
                    </tr>
                </thead>
                <tbody>
                    {integrations
                        .into_iter()
                        .map(|health| {
                            let error = match (health.last_error, health.last_error_local) {
                                (Some(error), Some(at)) => format!("{at}: {error}"),
                                (Some(error), None) => error,
                                _ => dash(),
                            };
                            view! {
                                <tr data-integration=health.name>
                                    <td>{health.title}</td>
                                    <td>{if health.configured { "работает" } else { "тестовый режим" }}</td>
                                    <td class="nowrap">{health.last_success_local.unwrap_or_else(dash)}</td>
                                    <td class="error">{error}</td>
                                    <td>{health.pending}</td>
                                    <td>{health.failed}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
