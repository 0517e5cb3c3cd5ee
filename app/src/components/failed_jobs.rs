//! The failed-jobs panel of `/target` and `/traffic/admin`.

use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::models::FailedJobs;
use crate::server_fns::jobs::{RetryFailedJob, RetryFailedJobs};

/// Jobs that failed for good, with the provider's error and a retry button each, and
/// «Повторить все» per kind.
#[component]
pub fn FailedJobsPanel(
    failed: FailedJobs,
    retry: ServerAction<RetryFailedJob>,
    retry_all: ServerAction<RetryFailedJobs>,
) -> impl IntoView {
    let FailedJobs { total, jobs, by_kind } = failed;
    view! {
        <section class="failed-jobs" aria-label="Ошибки отправки">
            <h2>"Ошибки отправки: " {total}</h2>
            <div class="retry-all">
                <For each=move || by_kind.clone() key=|group| (group.kind.clone(), group.count) let:group>
                    <ActionForm action=retry_all attr:class="inline" attr:data-done="Снова в очереди: {n}">
                        <input type="hidden" name="kind" value=group.kind.clone() />
                        <button type="submit">{format!("Повторить все: {} ({})", group.what, group.count)}</button>
                    </ActionForm>
                </For>
            </div>
            <ul>
                <For each=move || jobs.clone() key=|job| job.job_id let:job>
                    <li data-job-id=job.job_id>
                        <span class="what">{job.what}</span>
                        <span class="name">{job.lead_name.unwrap_or_else(|| "—".to_owned())}</span>
                        <span class="error">{job.last_error.unwrap_or_default()}</span>
                        <span class="muted nowrap">
                            {job.failed_at_local} " · попыток: " {job.attempts}
                        </span>
                        <ActionForm action=retry attr:class="inline">
                            <input type="hidden" name="job_id" value=job.job_id />
                            <button type="submit">"Повторить"</button>
                        </ActionForm>
                    </li>
                </For>
            </ul>
        </section>
    }
}
