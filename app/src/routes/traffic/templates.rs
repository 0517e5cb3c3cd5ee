//! The texts leads receive, as each kind of lead gets them, rendered for a sample lead.

use leptos::prelude::*;

use crate::models::TemplatePreview;
use crate::server_fns::messages::list_template_previews;

/// «Письма и SMS лидам»: one expandable preview per template.
#[component]
pub fn TemplatePreviews() -> impl IntoView {
    let previews = Resource::new(|| (), |_| list_template_previews());
    view! {
        <section class="template-previews" aria-label="Письма и SMS лидам">
            <h2>"Письма и SMS лидам"</h2>
            <Transition>
                {move || Suspend::new(async move {
                    previews.await.ok().map(|previews| {
                        previews.into_iter().map(|preview| view! { <TemplatePreviewItem preview /> }).collect_view()
                    })
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TemplatePreviewItem(preview: TemplatePreview) -> impl IntoView {
    view! {
        <details class="template-preview">
            <summary>{preview.kind}</summary>
            <p>
                <strong>"Тема письма: "</strong>
                {preview.subject}
            </p>
            <pre class="email-text">{preview.email_text}</pre>
            <p>
                <strong>"SMS: "</strong>
                {preview.sms_text}
            </p>
        </details>
    }
}
