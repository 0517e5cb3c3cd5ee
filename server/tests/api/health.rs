//! `/healthz` and `/readyz`.

use crate::helpers::on_both_engines;

on_both_engines!(health_and_readiness_answer_without_a_session, |app| {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    app.db.close().await;
    let unready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(unready.status(), 503);
});
