//! The failed-jobs panel of `/target` and `/traffic/admin`.

use leptos::prelude::*;
use leptos::server::ServerAction;

use crate::models::FailedJob;
use crate::server_fns::jobs::RetryFailedJob;

/// Jobs that failed for good, with the provider's error and a retry button each.
#[component]
pub fn FailedJobsPanel(total: i64, jobs: Vec<FailedJob>, retry: ServerAction<RetryFailedJob>) -> impl IntoView {
    view! {
        <section class="failed-jobs" aria-label="Ошибки отправки">
            <h2>"Ошибки отправки: " {total}</h2>
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
