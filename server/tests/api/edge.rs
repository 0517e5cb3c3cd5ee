//! The public edge under abuse: rate limits, sign-in hardening and redirects, lead status
//! tokens, closed webhooks, the same-origin rule, credentials that end, hostile bodies.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};

use app::edge::client_addr::TrustedProxies;
use app::models::Role;

use crate::helpers::{on_both_engines, with_each_engine, TestApp};

/// Values of `next` that must never send a signed-in browser elsewhere (shared with the
/// browser test and the unit test).
fn hostile_next() -> Vec<String> {
    serde_json::from_str(include_str!("../../../end2end/tests/fixtures/hostile_next.json")).unwrap()
}

fn lead(n: usize) -> Value {
    json!({ "name": format!("Лид {n}"), "email": format!("burst{n}@example.com"), "phone": format!("+7705{n:07}") })
}

async fn post_from(app: &TestApp, client_addr: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/landing/proftest"))
        .header("x-forwarded-for", client_addr)
        .json(body)
        .send()
        .await
        .unwrap()
}

with_each_engine!(a_burst_from_one_address_is_refused_after_the_limit_and_stores_nothing, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.edge.intake_rate_per_minute = 6;
        config.edge.intake_rate_burst = 5;
        config.edge.trusted_proxies = TrustedProxies::new(vec!["127.0.0.1/32".parse().unwrap()]);
    })
    .await
    else {
        return;
    };
    for n in 0..5 {
        assert_eq!(post_from(&app, "198.51.100.7", &lead(n)).await.status(), 200, "within the burst");
    }
    let refused = post_from(&app, "198.51.100.7", &lead(5)).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert!(body["error"].as_str().unwrap().contains("Слишком много заявок"), "{body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 5, "nothing stored for the refused one");

    // Another address behind the same proxy is its own client; a forged header in front
    // of the proxy's does not make one.
    assert_eq!(post_from(&app, "198.51.100.8", &lead(6)).await.status(), 200);
    assert_eq!(post_from(&app, "6.6.6.6, 198.51.100.7", &lead(7)).await.status(), 429);
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 6);
});

with_each_engine!(without_trusted_proxies_the_socket_address_is_the_client, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.edge.intake_rate_per_minute = 6;
        config.edge.intake_rate_burst = 2;
    })
    .await
    else {
        return;
    };
    assert_eq!(post_from(&app, "198.51.100.1", &lead(1)).await.status(), 200);
    assert_eq!(post_from(&app, "198.51.100.2", &lead(2)).await.status(), 200);
    assert_eq!(post_from(&app, "198.51.100.3", &lead(3)).await.status(), 429, "the header is not believed");
});

with_each_engine!(hostile_next_values_never_leave_the_site, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    app.create_user("admin", "s3cret-password", Role::Admin, None).await;
    let hostile = hostile_next();
    for next in hostile.iter().map(String::as_str).chain(["/traffic/admin?from=2026-11-01"]) {
        let form = [("login", "admin"), ("password", "s3cret-password"), ("next", next)];
        // As a browser without JavaScript posts the form.
        let request = app.client.post(app.url("/api/auth/sign_in")).header("accept", "text/html").form(&form);
        let response = request.send().await.unwrap();
        assert!(response.status().is_redirection(), "{next:?}: {}", response.status());
        let location = response.headers()["location"].to_str().unwrap();
        let expected = if next.starts_with("/traffic/admin") { next } else { "/target" };
        assert_eq!(location, expected, "{next:?}");
    }
});

with_each_engine!(repeated_wrong_passwords_slow_the_login_and_the_address_down, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    app.create_user("admin", "s3cret-password", Role::Admin, None).await;
    let sign_in = |login: &'static str, password: &'static str| {
        app.client.post(app.url("/api/auth/sign_in")).form(&[("login", login), ("password", password)]).send()
    };
    for _ in 0..5 {
        assert_eq!(sign_in("admin", "wrong-password").await.unwrap().status(), 401);
    }
    let slowed = sign_in("admin", "s3cret-password").await.unwrap();
    assert_eq!(slowed.status(), 429, "even the right password waits its turn");
    assert!(slowed.headers().contains_key("retry-after"));
    let message: Value = slowed.json().await.unwrap();
    assert_eq!(message["error"], "too_many_requests", "{message}");

    // Another login from the same address is not slowed yet; the delay ends by itself.
    assert_eq!(sign_in("nobody", "wrong-password").await.unwrap().status(), 401);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(sign_in("admin", "s3cret-password").await.unwrap().status().as_u16() < 400);
});

with_each_engine!(a_lead_status_needs_its_token_or_an_admin, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let response = app.post_json("/api/landing/proftest", &lead(1)).await;
    let answer: Value = response.json().await.unwrap();
    let (lead_id, token) = (answer["leadId"].as_i64().unwrap(), answer["statusToken"].as_str().unwrap().to_owned());
    assert_eq!(token.len(), 32);
    let other = app.post_json("/api/landing/proftest", &lead(2)).await.json::<Value>().await.unwrap();
    assert_ne!(other["statusToken"], answer["statusToken"]);

    let status = |path: String| {
        let request = app.client.get(app.url(&path));
        async move { request.send().await.unwrap() }
    };
    assert_eq!(status(format!("/api/landing/leads/{lead_id}/status?token={token}")).await.status(), 200);
    let by_header = app
        .client
        .get(app.url(&format!("/api/landing/leads/{lead_id}/status")))
        .header("x-status-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let missing = status(format!("/api/landing/leads/{lead_id}/status")).await;
    assert_eq!(missing.status(), 422);
    assert!(missing.text().await.unwrap().contains("statusToken"));
    let next_id = other["leadId"].as_i64().unwrap();
    assert_eq!(status(format!("/api/landing/leads/{next_id}/status?token={token}")).await.status(), 404);
    assert_eq!(status(format!("/api/landing/leads/{lead_id}/status?token={}", "0".repeat(32))).await.status(), 404);

    let admin = app.token_for("status-admin", Role::Admin, None).await;
    let by_admin = app.get_json(&format!("/api/landing/leads/{next_id}/status"), Some(&admin)).await;
    assert_eq!(by_admin["leadId"], next_id);
    let buyer = app.token_for("buyer", Role::Targetologist, Some("Kenesary")).await;
    let request = app.client.get(app.url(&format!("/api/landing/leads/{next_id}/status"))).bearer_auth(&buyer);
    assert_eq!(request.send().await.unwrap().status(), 422, "only admins read by id");
});

with_each_engine!(the_mobizon_webhook_is_closed_without_its_secret, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let lead_id = app.post_lead("Лид", "closed@example.com", "+77051112233").await;
    let report = json!({ "eventId": "1", "attempt": "1", "eventCreateTs": "1", "eventType": "sms-delivery-report",
                         "data": { "messageId": "1", "status": "DELIVRD" } });
    let response = app.client.post(app.url("/webhooks/mobizon")).json(&report).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("MOBIZON_WEBHOOK_SECRET"));
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_event").await, 0, "nothing stored");
    assert_eq!(app.lead_status(lead_id).await["sms"]["status"], "pending");
});

on_both_engines!(cookie_changes_from_another_site_are_refused_and_bearer_calls_pass, |app| {
    app.create_user("admin", "s3cret-password", Role::Admin, None).await;
    let form = [("login", "admin"), ("password", "s3cret-password")];
    assert!(app.client.post(app.url("/api/auth/sign_in")).form(&form).send().await.unwrap().status().as_u16() < 400);
    let retry_all = |origin: Option<&'static str>, site: Option<&'static str>| {
        let mut request = app.client.post(app.url("/api/jobs/retry-all")).form(&[("kind", "send_lead_email")]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    assert_eq!(retry_all(Some("https://evil.example"), None).await.unwrap().status(), 403);
    assert_eq!(retry_all(Some("null"), None).await.unwrap().status(), 403);
    assert_eq!(retry_all(None, Some("cross-site")).await.unwrap().status(), 403);
    assert_eq!(retry_all(None, Some("same-site")).await.unwrap().status(), 403, "a sibling subdomain is not us");
    assert_eq!(retry_all(None, Some("same-origin")).await.unwrap().status(), 200);
    assert_eq!(retry_all(None, None).await.unwrap().status(), 200, "the client's own Origin");
    // The same change without the cookie, by bearer token, from a script anywhere.
    let token = app.token_for("script", Role::Admin, None).await;
    let plain = reqwest::Client::new();
    let by_token = plain
        .post(app.url("/api/jobs/retry-all"))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .form(&[("kind", "send_lead_email")])
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 200);
    // A sign-in posted by another site's form (login CSRF) is refused too.
    let cross = plain
        .post(app.url("/api/auth/sign_in"))
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
});

on_both_engines!(pages_carry_security_headers_and_a_nonce_csp, |app| {
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    let headers = login.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(!headers.contains_key("strict-transport-security"), "only in production");
    let csp = headers["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_owned();
    let html = login.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the nonce");
    let again = app.client.get(app.url("/login")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(&nonce), "a new nonce each time");
    let api = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
});

with_each_engine!(production_pages_ask_for_https, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| config.production = true).await else { return };
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    assert!(login.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
});

with_each_engine!(password_change_disable_and_idle_time_end_sessions_and_revoked_tokens_stop, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| config.web.session_idle = Duration::from_secs(3600)).await
    else {
        return;
    };
    let user_id = app.create_user("admin", "s3cret-password", Role::Admin, None).await;
    let sign_in = || async {
        let form = [("login", "admin"), ("password", "s3cret-password")];
        assert!(
            app.client.post(app.url("/api/auth/sign_in")).form(&form).send().await.unwrap().status().as_u16() < 400
        );
    };
    let signed_in = || async { app.client.get(app.url("/api/leads/stats")).send().await.unwrap().status() == 200 };

    sign_in().await;
    assert!(signed_in().await);
    let mut conn = app.db.pool().acquire().await.unwrap();
    app::db::user::set_password(&mut conn, user_id, "another-hash").await.unwrap();
    assert!(!signed_in().await, "a new password ends the session");

    let hash = app::auth::hash_password("s3cret-password".to_owned()).await.unwrap();
    app::db::user::set_password(&mut conn, user_id, &hash).await.unwrap();
    sign_in().await;
    sqlx::query("UPDATE user_session SET last_seen_at = $1, created_at = $1")
        .bind(app::time::now_ms() - 3_600_001)
        .execute(&mut *conn)
        .await
        .unwrap();
    assert!(!signed_in().await, "an hour idle ends it");

    sign_in().await;
    assert!(signed_in().await);
    let token = app.token_for("script", Role::Admin, None).await;
    assert!(app::db::user::set_disabled(&mut conn, "ADMIN", true, app::time::now_ms()).await.unwrap());
    assert!(!signed_in().await, "disabling ends the session");
    let form = [("login", "admin"), ("password", "s3cret-password")];
    assert_eq!(app.client.post(app.url("/api/auth/sign_in")).form(&form).send().await.unwrap().status(), 401);

    let with_token = || async {
        let request = app.client.get(app.url("/api/lead-tracking/leads")).bearer_auth(&token);
        request.send().await.unwrap().status()
    };
    assert_eq!(with_token().await, 200);
    let selection = app::db::credential::TokenSelection::Login("script".to_owned());
    assert_eq!(app::db::credential::revoke_api_tokens(&mut conn, &selection, app::time::now_ms()).await.unwrap(), 1);
    assert_eq!(with_token().await, 401, "a revoked token stops working");
});

with_each_engine!(deeply_nested_amocrm_bodies_are_refused_and_the_server_stays_up, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.crm.webhook_secret = Some(SecretString::from("crm-hook-secret"));
    })
    .await
    else {
        return;
    };
    // 60 KB, 1 MB and just under axum's 2 MB body limit, each of brackets.
    for size in [60 * 1024, 1024 * 1024, 2 * 1024 * 1024 - 64] {
        let body = format!("leads{}=1", "[x]".repeat((size - 8) / 3));
        let response = app
            .client
            .post(app.url("/webhook/amocrm/traffic?token=crm-hook-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{size} bytes");
        assert!(response.text().await.unwrap().contains("глубже"));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM crm_event").await, 0, "nothing stored");
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200, "still up");
});

/// Runs `server <args>` on `database_url`, with `stdin`; returns its standard output.
fn server_cli(database_url: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the server binary");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "server {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

with_each_engine!(the_cli_disables_users_and_revokes_tokens, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let url = app.database_url();
    let cli = |args: &'static [&'static str], stdin: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || server_cli(&url, args, stdin))
    };
    cli(&["user", "add", "--login", "ops", "--role", "admin"], "ops-password-1\n").await.unwrap();
    let token = cli(&["token", "create", "--login", "ops"], "").await.unwrap().trim().to_owned();
    let with_token = || async {
        let request = app.client.get(app.url("/api/lead-tracking/leads")).bearer_auth(&token);
        request.send().await.unwrap().status()
    };
    assert_eq!(with_token().await, 200);
    let listed = cli(&["token", "list"], "").await.unwrap();
    assert!(listed.lines().any(|line| line.contains("\tops\t")), "{listed}");
    assert!(!listed.contains(&token), "the secret is never shown again");

    let form = [("login", "ops"), ("password", "ops-password-1")];
    assert!(app.client.post(app.url("/api/auth/sign_in")).form(&form).send().await.unwrap().status().as_u16() < 400);
    cli(&["user", "disable", "--login", "ops"], "").await.unwrap();
    assert_eq!(app.client.get(app.url("/api/leads/stats")).send().await.unwrap().status(), 401, "the session ended");
    assert_eq!(with_token().await, 401, "a disabled user's token stops");
    cli(&["user", "enable", "--login", "ops"], "").await.unwrap();
    assert_eq!(with_token().await, 200);
    assert!(cli(&["token", "revoke", "--login", "ops"], "").await.unwrap().contains("Отозвано токенов: 1"));
    assert_eq!(with_token().await, 401, "revoked");
});

/// Reads from `stream` until the server closes it (or `within` passes); returns what came.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;

    let mut answer = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut answer)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

with_each_engine!(slow_clients_are_cut_off_and_connections_are_capped, |engine| {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.edge.header_timeout = Duration::from_millis(500);
        config.edge.request_timeout = Duration::from_millis(800);
        config.edge.max_connections = 2;
    })
    .await
    else {
        return;
    };
    // Headers that never end: the connection is closed.
    let mut slow_headers = TcpStream::connect(app.address).await.unwrap();
    slow_headers.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let answer = read_until_closed(&mut slow_headers, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "closed after the header timeout");

    // A body that never arrives: 408.
    let mut slow_body = TcpStream::connect(app.address).await.unwrap();
    let head = "POST /api/landing/proftest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut slow_body, Duration::from_secs(5)).await.expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 0);

    // Two open connections fill the cap: a third waits until one goes.
    let held = [TcpStream::connect(app.address).await.unwrap(), TcpStream::connect(app.address).await.unwrap()];
    let plain = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    assert!(plain.get(app.url("/healthz")).send().await.is_err(), "no third connection is served");
    drop(held);
    let served = reqwest::Client::new().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(served.status(), 200);
});

with_each_engine!(shutdown_waits_for_requests_only_until_its_deadline, |engine| {
    use tokio::io::AsyncWriteExt;

    let Some(mut app) = TestApp::spawn_with(engine, |config| {
        config.edge.request_timeout = Duration::from_secs(60);
        config.edge.shutdown_grace = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    // A request whose body is still on its way when the shutdown comes.
    let mut in_flight = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let head = "POST /api/landing/proftest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    in_flight.write_all(head.as_bytes()).await.unwrap();
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server has taken the connection");
    let stopped = tokio::time::timeout(Duration::from_secs(5), app.shut_down()).await;
    assert!(stopped.is_ok(), "the shutdown did not wait for the stalled request beyond its deadline");
    assert!(read_until_closed(&mut in_flight, Duration::from_secs(5)).await.is_some(), "its connection was closed");
});

with_each_engine!(check_config_lists_what_production_lacks_and_passes_a_complete_setup, |engine| {
    use std::process::Command;

    let Some(app) = TestApp::spawn(engine).await else { return };
    let check = |extra: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command.arg("check-config").env_clear().env("DATABASE_URL", app.database_url()).env("APP_ENV", "production");
        for (name, value) in extra {
            command.env(name, value);
        }
        command.output().expect("running check-config")
    };
    let bare = check(&[]);
    assert!(!bare.status.success(), "a bare production environment is not ready");
    let listed = String::from_utf8(bare.stdout).unwrap();
    for variable in ["RESEND_API_KEY", "MOBIZON_WEBHOOK_SECRET", "AMOCRM_WEBHOOK_SECRET", "CORS_ALLOWED_ORIGINS"] {
        assert!(listed.contains(variable), "{variable} in {listed}");
    }
    assert!(listed.contains("the database answers"), "{listed}");

    let complete = [
        ("RESEND_API_KEY", "re_x"),
        ("RESEND_WEBHOOK_SECRET", "whsec_eA=="),
        ("MOBIZON_API_KEY", "x"),
        ("MOBIZON_WEBHOOK_SECRET", "x"),
        ("AMOCRM_BASE_URL", "https://academy.amocrm.ru"),
        ("AMOCRM_ACCESS_TOKEN", "x"),
        ("AMOCRM_WEBHOOK_SECRET", "x"),
        ("TELEGRAM_BOT_TOKEN", "1:x"),
        ("CORS_ALLOWED_ORIGINS", "https://landing.example.com"),
    ];
    let ready = check(&complete);
    let listed = String::from_utf8(ready.stdout).unwrap();
    assert!(ready.status.success(), "{listed}{}", String::from_utf8_lossy(&ready.stderr));
    assert!(!listed.contains("опасно") && listed.contains("TRUSTED_PROXIES"), "notes stay: {listed}");
    let unsafe_cookie = check(&[complete.as_slice(), &[("COOKIE_SECURE", "false")]].concat());
    assert!(!unsafe_cookie.status.success());
});
