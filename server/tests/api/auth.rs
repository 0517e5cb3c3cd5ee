//! Sign-in, sessions, tokens and who may see what.

use std::sync::atomic::Ordering;

use app::models::Role;

use crate::helpers::on_both_engines;

on_both_engines!(json_routes_need_a_token_or_session, |app| {
    let anonymous = app.client.get(app.url("/api/lead-tracking/leads")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = app.client.get(app.url("/api/lead-tracking/leads")).bearer_auth("0".repeat(64)).send().await.unwrap();
    assert_eq!(forged.status(), 401);

    let targetologist = app.token_for("kenesary.buyer", Role::Targetologist, Some("Kenesary")).await;
    let forbidden =
        app.client.get(app.url("/api/lead-tracking/leads")).bearer_auth(&targetologist).send().await.unwrap();
    assert_eq!(forbidden.status(), 403);

    let admin = app.token_for("admin", Role::Admin, None).await;
    let allowed = app.client.get(app.url("/api/lead-tracking/leads")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(allowed.status(), 200);
});

on_both_engines!(server_functions_refuse_anonymous_callers, |app| {
    let response = app.client.get(app.url("/api/leads/list")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let stats = app.client.get(app.url("/api/leads/stats")).send().await.unwrap();
    assert_eq!(stats.status(), 401);
});

on_both_engines!(pages_redirect_to_sign_in_without_a_session, |app| {
    let response = app.client.get(app.url("/target?source=proftest")).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/login?next=/target%3Fsource%3Dproftest");
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("Войти"));
});

on_both_engines!(signing_in_opens_the_dashboard_and_signing_out_closes_it, |app| {
    app.create_user("Admin", "s3cret-password", Role::Admin, None).await;
    let sign_in = |password: &'static str| {
        app.client
            .post(app.url("/api/auth/sign_in"))
            .form(&[("login", "admin"), ("password", password), ("next", "/target")])
            .send()
    };

    let wrong = sign_in("wrong-password").await.unwrap();
    assert_eq!(wrong.status(), 401);
    let still_out = app.client.get(app.url("/target")).send().await.unwrap();
    assert!(still_out.status().is_redirection());

    let right = sign_in("s3cret-password").await.unwrap();
    assert!(right.status().is_success() || right.status().is_redirection(), "{}", right.status());
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");

    let page = app.client.get(app.url("/target")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Всего лидов"), "the stat cards render on the server");

    let out = app.client.post(app.url("/api/auth/sign_out")).send().await.unwrap();
    assert!(out.status().is_success() || out.status().is_redirection());
    let after = app.client.get(app.url("/target")).send().await.unwrap();
    assert!(after.status().is_redirection(), "the session ended");
});

on_both_engines!(one_page_render_looks_the_session_up_once, |app| {
    app.create_user("Admin", "s3cret-password", Role::Admin, None).await;
    let form = [("login", "admin"), ("password", "s3cret-password"), ("next", "/target")];
    app.client.post(app.url("/api/auth/sign_in")).form(&form).send().await.unwrap();
    let lookups = || app.credential_lookups.load(Ordering::Relaxed);

    let before = lookups();
    let page = app.client.get(app.url("/target")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Всего лидов") && html.contains("Лиды"), "the page and its data render on the server");
    assert_eq!(lookups() - before, 1, "the middleware resolves the session; every server function reuses it");

    let before = lookups();
    let data = app.client.get(app.url("/api/leads/stats")).send().await.unwrap();
    assert_eq!(data.status(), 200);
    assert_eq!(lookups() - before, 1);
});

on_both_engines!(a_targetologist_cannot_open_the_admin_leads_page, |app| {
    app.create_user("arystan.buyer", "s3cret-password", Role::Targetologist, Some("Arystan")).await;
    let response = app
        .client
        .post(app.url("/api/auth/sign_in"))
        .form(&[("login", "arystan.buyer"), ("password", "s3cret-password")])
        .send()
        .await
        .unwrap();
    assert!(!response.status().is_client_error());
    let page = app.client.get(app.url("/target")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("Недостаточно прав"));
    let data = app.client.get(app.url("/api/leads/list")).send().await.unwrap();
    assert_eq!(data.status(), 403);
});
