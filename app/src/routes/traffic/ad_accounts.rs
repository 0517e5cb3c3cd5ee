//! The Facebook ad-account settings on `/traffic/admin`: each account's team and sync
//! switch, its last sync, and *Обновить кабинеты* to discover them again.

use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::components::csv_export::CsvLink;
use crate::models::{AdAccountView, TeamView};
use crate::server_fns::traffic::{list_ad_accounts, RefreshAdAccounts, SaveAdAccount};

/// The accounts table with «Обновить кабинеты».
#[component]
pub fn AdAccountsPanel(
    teams: Vec<TeamView>,
    save: ServerAction<SaveAdAccount>,
    refresh: ServerAction<RefreshAdAccounts>,
) -> impl IntoView {
    let accounts = Resource::new(|| (), |_| list_ad_accounts());
    let teams = StoredValue::new(teams);
    view! {
        <section class="ad-accounts" aria-label="Рекламные кабинеты">
            <div class="section-head">
                <h2>"Рекламные кабинеты"</h2>
                <ActionForm action=refresh attr:class="inline" attr:data-done="Поиск кабинетов запущен">
                    <button type="submit">"Обновить кабинеты"</button>
                </ActionForm>
            </div>
            <Transition>
                {move || Suspend::new(async move {
                    let accounts = accounts.await.unwrap_or_default();
                    let teams = teams.get_value();
                    view! { <AccountTable accounts teams save /> }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AccountTable(
    accounts: Vec<AdAccountView>,
    teams: Vec<TeamView>,
    save: ServerAction<SaveAdAccount>,
) -> impl IntoView {
    if accounts.is_empty() {
        return view! { <p class="empty">"Кабинетов пока нет: нажмите «Обновить кабинеты»"</p> }.into_any();
    }
    let team_name = |team_id: Option<i64>| {
        team_id
            .and_then(|id| teams.iter().find(|team| team.team_id == id))
            .map(|team| team.name.clone())
            .unwrap_or_default()
    };
    let exported: Vec<Vec<String>> = accounts
        .iter()
        .map(|account| {
            vec![
                account.account_id.clone(),
                account.name.clone(),
                account.currency.clone(),
                account.status.clone(),
                team_name(account.team_id),
                if account.sync_enabled { "да" } else { "нет" }.to_owned(),
                account.last_synced_local.clone().unwrap_or_default(),
                account.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let rows =
        accounts.into_iter().map(|account| view! { <AccountRow account teams=teams.clone() save /> }).collect_view();
    view! {
        <CsvLink
            file_name="ad-accounts.csv"
            headers=vec!["Кабинет", "Название", "Валюта", "Статус", "Команда", "Синхронизация", "Последняя синхронизация", "Ошибка"]
            rows=exported
        />
        <div class="table-wrap">
            <table class="leads">
                <thead>
                    <tr>
                        <th scope="col">"Кабинет"</th>
                        <th scope="col">"Валюта"</th>
                        <th scope="col">"Статус"</th>
                        <th scope="col">"Последняя синхронизация"</th>
                        <th scope="col">"Команда и синхронизация"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
        .into_any()
}

#[component]
fn AccountRow(account: AdAccountView, teams: Vec<TeamView>, save: ServerAction<SaveAdAccount>) -> impl IntoView {
    let options = teams
        .into_iter()
        .filter(|team| !team.archived || Some(team.team_id) == account.team_id)
        .map(|team| {
            let selected = Some(team.team_id) == account.team_id;
            view! {
                <option value=team.team_id.to_string() selected=selected>
                    {format!("{} {}", team.emoji, team.name)}
                </option>
            }
        })
        .collect_view();
    let synced = match (&account.last_synced_local, &account.last_error) {
        (_, Some(error)) => view! { <span class="error">{error.clone()}</span> }.into_any(),
        (Some(at), None) => view! { <span>{at.clone()}</span> }.into_any(),
        (None, None) => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let label = format!("Команда кабинета {}", account.name);
    let AdAccountView { account_id, name, business_name, currency, status, team_id, sync_enabled, .. } = account;
    let identity =
        format!("{account_id}{}", business_name.map(|business| format!(" · {business}")).unwrap_or_default());
    let row_key = account_id.clone();
    view! {
        <tr data-row=row_key>
            <td>
                <div class="name">{name}</div>
                <div class="muted">{identity}</div>
            </td>
            <td>{currency}</td>
            <td>{status}</td>
            <td>{synced}</td>
            <td>
                <ActionForm action=save attr:class="filters">
                    <input type="hidden" name="account_id" value=account_id />
                    <select name="team_id" aria-label=label>
                        <option value="" selected=team_id.is_none()>
                            "по названиям объявлений"
                        </option>
                        {options}
                    </select>
                    <label>
                        <input type="checkbox" name="sync" value="on" checked=sync_enabled />
                        " синхронизировать"
                    </label>
                    <button type="submit">"Сохранить"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
