use leptos::prelude::*;

use crate::models::{Channel, DeliveryStatus as Status, DeliveryStep};

/// The icon, its CSS class and the Russian name of a delivery status.
pub fn describe(channel: Channel, status: Status) -> (&'static str, &'static str, &'static str) {
    match (channel, status) {
        (_, Status::Pending) => ("ожидает", "pending", "Ещё не отправлено"),
        (_, Status::Clicked) => ("✓", "ok", "Переход по ссылке"),
        (_, Status::Opened) => ("✓", "ok", "Открыто"),
        (Channel::Email, Status::Delivered) => ("⏱", "wait", "Доставлено, не открыто"),
        (Channel::Sms, Status::Delivered) => ("✓", "ok", "Доставлено"),
        (_, Status::Sent) => ("⏱", "wait", "Отправлено"),
        (_, Status::Bounced) => ("✗", "bad", "Не доставлено (отказ)"),
        (_, Status::Error) => ("✗", "bad", "Ошибка"),
        (_, Status::Skipped) => ("—", "skipped", "Не отправлено по правилам рассылки"),
    }
}

/// A step of the history as people read it: what happened, not what it means now
/// («Доставлено», where the current status of an unopened email says «не открыто»).
fn step_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "Отправка заново",
        Status::Sent => "Отправлено",
        Status::Delivered => "Доставлено",
        Status::Opened => "Открыто",
        Status::Clicked => "Переход по ссылке",
        Status::Bounced => "Отказ",
        Status::Error => "Ошибка",
        Status::Skipped => "Пропущено",
    }
}

/// A status icon whose tooltip and accessible label give the status, its time, the
/// provider's error, if any, and every earlier status with its time.
#[component]
pub fn DeliveryStatus(
    channel: Channel,
    status: Status,
    /// When the status was reached, as shown to people.
    at: Option<String>,
    /// The provider's explanation of an error.
    error: Option<String>,
    /// Every status the message reached, oldest first.
    #[prop(optional)]
    history: Vec<DeliveryStep>,
) -> impl IntoView {
    let (icon, class, name) = describe(channel, status);
    let steps = (history.len() > 1).then(|| {
        let steps: Vec<String> =
            history.iter().map(|step| format!("{} {}", step_name(step.status), step.at_local)).collect();
        format!("история: {}", steps.join(" → "))
    });
    let title = [Some(name.to_owned()), at, error, steps].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    view! {
        <span class=format!("status {class}") title=title.clone() aria-label=title data-status=status.as_str()>
            {icon}
        </span>
    }
}
