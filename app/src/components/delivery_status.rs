use leptos::prelude::*;

/// Which message a status belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

/// The icon, its CSS class and the Russian name of a delivery status.
pub fn describe(channel: Channel, status: &str) -> (&'static str, &'static str, &'static str) {
    match (channel, status) {
        (_, "pending") => ("ожидает", "pending", "Ещё не отправлено"),
        (Channel::Email, "clicked") => ("✓", "ok", "Переход по ссылке"),
        (Channel::Email, "opened") => ("✓", "ok", "Открыто"),
        (Channel::Email, "delivered") => ("⏱", "wait", "Доставлено, не открыто"),
        (Channel::Sms, "delivered") => ("✓", "ok", "Доставлено"),
        (_, "sent") => ("⏱", "wait", "Отправлено"),
        (_, "bounced") => ("✗", "bad", "Не доставлено (отказ)"),
        (_, "error") => ("✗", "bad", "Ошибка"),
        _ => ("?", "pending", "Неизвестный статус"),
    }
}

/// A status icon whose tooltip and accessible label give the status, its time and the
/// provider's error, if any.
#[component]
pub fn DeliveryStatus(
    channel: Channel,
    status: String,
    /// When the status was reached, as shown to people.
    at: Option<String>,
    /// The provider's explanation of an error.
    error: Option<String>,
) -> impl IntoView {
    let (icon, class, name) = describe(channel, &status);
    let title = [Some(name.to_owned()), at, error].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    view! {
        <span class=format!("status {class}") title=title.clone() aria-label=title data-status=status>
            {icon}
        </span>
    }
}
