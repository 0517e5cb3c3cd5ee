use leptos::prelude::*;

use crate::models::{Channel, DeliveryStatus as Status};

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

/// A status icon whose tooltip and accessible label give the status, its time and the
/// provider's error, if any.
#[component]
pub fn DeliveryStatus(
    channel: Channel,
    status: Status,
    /// When the status was reached, as shown to people.
    at: Option<String>,
    /// The provider's explanation of an error.
    error: Option<String>,
) -> impl IntoView {
    let (icon, class, name) = describe(channel, status);
    let title = [Some(name.to_owned()), at, error].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    view! {
        <span class=format!("status {class}") title=title.clone() aria-label=title data-status=status.as_str()>
            {icon}
        </span>
    }
}
