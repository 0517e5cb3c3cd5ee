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

/// A status icon with its name as tooltip and accessible label.
#[component]
pub fn DeliveryStatus(channel: Channel, status: String) -> impl IntoView {
    let (icon, class, title) = describe(channel, &status);
    view! {
        <span class=format!("status {class}") title=title aria-label=title data-status=status>
            {icon}
        </span>
    }
}
