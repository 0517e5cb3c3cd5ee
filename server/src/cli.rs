//! The command line: serving, migrations, users, tokens and demo data.

use std::io::BufRead;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use leptos::config::get_configuration;
use tokio_util::sync::CancellationToken;

use app::auth::{hash_password, new_secret, secret_hash};
use app::config::Config;
use app::db::credential::{self, TokenSelection};
use app::db::{team, user, Db};
use app::demo::{self, DemoOptions};
use app::models::Role;
use app::state::AppState;
use app::time::now_ms;

use crate::backup;
use crate::shutdown::cancel_on_signal;
use crate::startup::{hash_file_beside_binary, Application};

/// Lead tracking and traffic attribution.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations and serve the app (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Check the environment for production: list what is missing or unsafe, whether the
    /// database answers; exit 1 if anything must be fixed.
    CheckConfig,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Facebook ad accounts and spend.
    Facebook {
        #[command(subcommand)]
        command: FacebookCommand,
    },
    /// Set the tenge rate of a currency from a date on (for ad spend in that currency).
    Rate {
        /// ISO code, e.g. USD.
        currency: String,
        /// First day the rate applies, yyyy-mm-dd.
        from: chrono::NaiveDate,
        /// Tenge per unit, e.g. 505.2.
        kzt: f64,
    },
    /// Write a consistent backup of the database to a new file while the server runs:
    /// an SQLite copy, or a PostgreSQL custom-format dump (needs `pg_dump`).
    Backup {
        /// The file to write; it must not exist.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore a backup into the database of `DATABASE_URL`, with its server stopped; the
    /// database must hold no leads unless --force (PostgreSQL needs `pg_restore`).
    Restore {
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database that holds leads.
        #[arg(long)]
        force: bool,
    },
    /// Fill the database with synthetic demo leads, sales and ad spend.
    DemoData {
        /// How many leads.
        #[arg(long, default_value_t = 6_000)]
        leads: u64,
        /// Over how many days up to today.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Generator seed (the same seed gives the same data).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// How many ads spend money each day.
        #[arg(long, default_value_t = 24)]
        ads: u32,
    },
}

#[derive(Debug, Subcommand)]
enum FacebookCommand {
    /// Find the token's Business Managers and ad accounts and store them.
    Discover,
    /// Sync the daily spend of the enabled accounts (or one) for a range of days.
    Backfill {
        /// First day, yyyy-mm-dd (the account's own days).
        #[arg(long)]
        since: chrono::NaiveDate,
        /// Last day, yyyy-mm-dd, inclusive.
        #[arg(long)]
        until: chrono::NaiveDate,
        /// One account (`act_<n>`) instead of every enabled one.
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        login: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The team of a targetologist (by name).
        #[arg(long)]
        team: Option<String>,
    },
    /// Set a user's password, read from standard input (one line); their sessions end.
    Password {
        #[arg(long)]
        login: String,
    },
    /// Disable a user: their sessions end, their API tokens stop working, they cannot sign in.
    Disable {
        #[arg(long)]
        login: String,
    },
    /// Enable a disabled user again (their old tokens work again unless revoked).
    Enable {
        #[arg(long)]
        login: String,
    },
    /// Print how many users exist (0 on a fresh database).
    Count,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a bearer token for a user and print it (it is shown only once).
    Create {
        #[arg(long)]
        login: String,
    },
    /// List the API tokens: id, user, created, last used, revoked (never the secret).
    List,
    /// Revoke one token by its id, or every token of a user.
    Revoke {
        #[arg(long, conflicts_with = "login", required_unless_present = "login")]
        id: Option<i64>,
        #[arg(long)]
        login: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Targetologist,
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::CheckConfig = command {
        return check_config().await;
    }
    let config = Config::from_env()?;
    match &command {
        Command::Backup { to } => return backup::backup(&config.database, to).await,
        Command::Restore { from, force } => return backup::restore(&config.database, from, *force).await,
        _ => {}
    }
    if let Command::Serve = command {
        // The server starts whether or not the database answers: leads go to the spool.
        let db = Db::connect_lazy(&config.database)?;
        let served = serve(config, db.clone()).await;
        db.close().await;
        return served;
    }
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    let result = match command {
        Command::Serve | Command::CheckConfig | Command::Backup { .. } | Command::Restore { .. } => {
            unreachable!("handled above")
        }
        Command::Migrate => {
            tracing::info!("migrations are up to date");
            Ok(())
        }
        Command::User { command } => user_command(&db, command).await,
        Command::Token { command } => token_command(&db, command).await,
        Command::Facebook { command } => facebook_command(&config, &db, command).await,
        Command::Rate { currency, from, kzt } => set_currency_rate(&db, &currency, from, kzt).await,
        Command::DemoData { leads, days, seed, ads } => {
            let count = demo::load(&db, DemoOptions { leads, days, seed, ads }).await?;
            // About 2 000 ₸ of ads per lead.
            let daily_budget = i64::try_from(leads / u64::from(days.max(1))).unwrap_or(0) * 2_000;
            let spend_rows = demo::load_spend(&db, days, ads, daily_budget, seed).await?;
            println!("Загружено демо-лидов: {count}, строк расходов: {spend_rows}");
            Ok(())
        }
    };
    db.close().await;
    result
}

async fn serve(config: Config, db: Db) -> anyhow::Result<()> {
    let leptos_config = std::env::var("LEPTOS_CONFIG").unwrap_or_else(|_| "Leptos.toml".to_owned());
    let mut leptos_options = get_configuration(Some(&leptos_config))
        .with_context(|| format!("reading the site settings from {leptos_config}"))?
        .leptos_options;
    if leptos_options.hash_files && !hash_file_beside_binary(&leptos_options) {
        tracing::info!("no hash.txt beside the binary: assets are served under their plain names");
        leptos_options.hash_files = false;
    }
    let state = AppState::new(leptos_options, db, config);
    if state.services.is_test_mode() {
        tracing::warn!("test mode: emails and SMS without provider credentials go to the dev_outbox table");
    }
    let shutdown = CancellationToken::new();
    state.intake.wait_for_schema();
    let jobs = tokio::spawn(bring_up(state.clone(), shutdown.clone()));
    let application = Application::build(state).await?;
    tracing::info!(address = %application.local_addr(), "serving");
    cancel_on_signal(shutdown.clone());
    let served = application.run_until_stopped(shutdown.clone()).await;
    // HTTP has stopped (or failed); the runner finishes its running jobs either way.
    shutdown.cancel();
    if let Err(error) = jobs.await {
        tracing::error!(error = %error, "the job runner ended abnormally");
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Migrates the database as soon as it answers (the server meanwhile serves, its intake
/// spooling), then queues the schedules, starts the alert watcher and works the job queue
/// until `shutdown`.
async fn bring_up(state: AppState, shutdown: CancellationToken) {
    for attempt in 1.. {
        match state.db.migrate().await {
            Ok(()) => break,
            Err(error) => {
                state.db.mark_unreachable();
                if attempt == 1 {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "the database cannot be migrated yet; trying every 2 s"
                    );
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    }
    state.db.mark_reachable();
    state.intake.schema_ready();
    if state.services.amocrm.is_some() {
        if let Err(error) = app::jobs::ScheduleCrmSync::start(&state.db).await {
            tracing::error!(error = %error, "queueing the AmoCRM sync schedule failed");
        }
    }
    if state.services.facebook.is_some() {
        if let Err(error) = app::jobs::ScheduleAdSpendSync::start(&state.db).await {
            tracing::error!(error = %error, "queueing the ad spend schedule failed");
        }
    }
    tokio::spawn(app::services::alerts::watch(state.services.clone(), shutdown.clone()));
    if let Err(error) = state.jobs.start(shutdown).await {
        tracing::error!(error = %error, "the job runner ended abnormally");
    }
}

async fn user_command(db: &Db, command: UserCommand) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    match command {
        UserCommand::Add { login, role, team } => {
            let login = login.trim().to_owned();
            if login.is_empty() {
                bail!("--login must not be empty");
            }
            let (role, team_id) = match (role, team) {
                (RoleArg::Admin, None) => (Role::Admin, None),
                (RoleArg::Admin, Some(_)) => bail!("an admin has no team; drop --team"),
                (RoleArg::Targetologist, None) => bail!("a targetologist needs --team"),
                (RoleArg::Targetologist, Some(name)) => {
                    let found = team::find_team_by_name(&mut conn, &name).await?;
                    let Some(found) = found else { bail!("no team named {name:?}") };
                    (Role::Targetologist, Some(found.team_id))
                }
            };
            if user::find_credentials(&mut conn, &login).await?.is_some() {
                bail!("user {login:?} already exists");
            }
            let hash = hash_password(read_password()?).await?;
            let user_id = user::insert_user(&mut conn, &login, &hash, role, team_id, now_ms()).await?;
            println!("Пользователь {login} создан (id {user_id}, роль {}).", role.as_str());
        }
        UserCommand::Password { login } => {
            let Some(found) = user::find_credentials(&mut conn, &login).await? else { bail!("no user {login:?}") };
            let hash = hash_password(read_password()?).await?;
            user::set_password(&mut conn, found.user_id, &hash).await?;
            println!("Пароль пользователя {} изменён.", found.login);
        }
        UserCommand::Disable { login } => {
            if !user::set_disabled(&mut conn, &login, true, now_ms()).await? {
                bail!("no user {login:?}");
            }
            println!("Пользователь {login} отключён, его сессии завершены.");
        }
        UserCommand::Enable { login } => {
            if !user::set_disabled(&mut conn, &login, false, now_ms()).await? {
                bail!("no user {login:?}");
            }
            println!("Пользователь {login} снова включён.");
        }
        UserCommand::Count => println!("{}", user::count_users(&mut conn).await?),
    }
    Ok(())
}

async fn facebook_command(config: &Config, db: &Db, command: FacebookCommand) -> anyhow::Result<()> {
    use app::providers::facebook::FacebookClient;
    use app::services::ad_spend::{discover, sync_account};

    let Some(token) = config.facebook.access_token.clone() else { bail!("FACEBOOK_ACCESS_TOKEN is not set") };
    let client = FacebookClient::new(&config.facebook, token);
    match command {
        FacebookCommand::Discover => {
            let found = discover(db, &client).await?;
            println!("Рекламных кабинетов: {found}");
        }
        FacebookCommand::Backfill { since, until, account } => {
            if since > until {
                bail!("--since is after --until");
            }
            let accounts = match account {
                Some(account) => vec![account],
                None => {
                    let mut conn = db.pool().acquire().await?;
                    let enabled = app::db::spend::accounts_to_sync(&mut conn).await?;
                    enabled.into_iter().map(|account| account.account_id).collect()
                }
            };
            for account_id in accounts {
                let rows = sync_account(db, &client, &config.facebook.fallback_rates, &account_id, (since, until))
                    .await
                    .map_err(|failure| anyhow::anyhow!("{account_id}: {failure}"))?;
                println!("{account_id}: строк расходов {rows}");
            }
        }
    }
    Ok(())
}

async fn set_currency_rate(db: &Db, currency: &str, from: chrono::NaiveDate, kzt: f64) -> anyhow::Result<()> {
    if !(kzt.is_finite() && kzt > 0.0) {
        bail!("the rate must be a positive number of tenge");
    }
    let currency = currency.trim().to_uppercase();
    let mut conn = db.pool().acquire().await?;
    let day = app::time::day_number(from);
    app::db::spend::set_rate(&mut conn, &currency, day, (kzt * 1_000_000.0).round() as i64).await?;
    println!("Курс {currency} с {from}: {kzt} ₸");
    Ok(())
}

async fn token_command(db: &Db, command: TokenCommand) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    match command {
        TokenCommand::Create { login } => {
            let Some(found) = user::find_credentials(&mut conn, &login).await? else { bail!("no user {login:?}") };
            let token = new_secret();
            let id = credential::insert_api_token(&mut conn, found.user_id, &secret_hash(&token), now_ms()).await?;
            // Standard output is the token alone, for scripts; the id goes to the terminal.
            eprintln!("Токен #{id} для {}.", found.login);
            println!("{token}");
        }
        TokenCommand::List => {
            let when = |at: Option<i64>| at.map_or_else(|| "—".to_owned(), app::time::format_almaty);
            println!("id\tпользователь\tсоздан\tиспользован\tотозван");
            for token in credential::list_api_tokens(&mut conn).await? {
                let created = when(Some(token.created_at));
                let (used, revoked) = (when(token.last_used_at), when(token.revoked_at));
                println!("{}\t{}\t{created}\t{used}\t{revoked}", token.token_id, token.login);
            }
        }
        TokenCommand::Revoke { id, login } => {
            let selection = match (id, login) {
                (Some(id), _) => TokenSelection::Id(id),
                (None, Some(login)) => TokenSelection::Login(login),
                (None, None) => bail!("give --id or --login"),
            };
            let revoked = credential::revoke_api_tokens(&mut conn, &selection, now_ms()).await?;
            if revoked == 0 {
                bail!("no live token matches {selection:?}");
            }
            println!("Отозвано токенов: {revoked}");
        }
    }
    Ok(())
}

/// `server check-config`: every finding, then whether the database answers.
async fn check_config() -> anyhow::Result<()> {
    use app::config::check::{production_findings, Severity};

    let config = Config::read_env().context("the environment cannot be read")?;
    let mut blocking = 0;
    for finding in production_findings(&config) {
        let label = match finding.severity {
            Severity::Missing => "нет",
            Severity::Unsafe => "опасно",
            Severity::Note => "заметка",
        };
        blocking += usize::from(finding.severity != Severity::Note);
        println!("{label:>8}  {}: {}", finding.variable, finding.message);
    }
    let mut database = config.database.clone();
    database.acquire_timeout = std::time::Duration::from_secs(5);
    match Db::connect(&database).await {
        Ok(db) => {
            println!("{:>8}  DATABASE_URL: the database answers", "ок");
            db.close().await;
        }
        Err(error) => {
            blocking += 1;
            println!("{:>8}  DATABASE_URL: the database does not answer ({error:#})", "нет");
        }
    }
    if blocking > 0 {
        bail!("{blocking} setting(s) to fix before production");
    }
    println!("Готово к работе в production.");
    Ok(())
}

/// One line from standard input, without its line ending; at least 8 characters.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters (read from standard input)");
    }
    Ok(password)
}
