//! Every text the product sends, in Russian and personalised with the lead's first name
//! (`docs/product.md`, "Email and SMS"): what a lead receives depends on how it came — a
//! quiz lead its result, a checkout lead the next step of its purchase — and the Telegram
//! announcement of a sale. Admins preview the lead templates on `/traffic/admin`.

use crate::db::alert::{AlertRow, Phase};
use crate::db::sale::SaleNotice;
use crate::format;
use crate::models::TemplatePreview;
use crate::providers::{EmailMessage, SmsMessage};
use crate::time::format_almaty;

/// Which email and SMS a lead gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// The ProfTest quiz: «Тест пройден», with a link to the product.
    QuizResult,
    /// The express-course checkout: how to finish paying with the method chosen.
    Checkout,
}

impl Template {
    /// The template of a lead of `kind` (`proftest`, `express`).
    pub fn for_kind(kind: &str) -> Self {
        if kind == "express" {
            Self::Checkout
        } else {
            Self::QuizResult
        }
    }
}

/// What the templates read of a lead.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    pub lead_id: i64,
    pub name: &'a str,
    pub email: &'a str,
    /// E.164.
    pub phone: &'a str,
    /// The checkout's payment method (`kaspi`, `halyk`, …).
    pub payment_method: Option<&'a str>,
}

/// The lead's email of `template`, with a button to `product_url`.
pub fn lead_email(template: Template, to: &Addressee<'_>, product_url: &str, idempotency_key: &str) -> EmailMessage {
    let greeting = greeting(to.name);
    let (subject, heading, body, button) = match template {
        Template::QuizResult => (
            "Тест пройден. Получить продукт".to_owned(),
            "Тест пройден".to_owned(),
            "Мы подобрали для вас программу по результатам теста.".to_owned(),
            "Получить продукт",
        ),
        Template::Checkout => (
            "Express-курс: завершите оплату".to_owned(),
            "Осталось оплатить".to_owned(),
            format!(
                "Вы выбрали Express-курс (5 000 ₸) и оплату {}. Завершите оплату по ссылке — доступ к курсу \
                 придёт на эту почту сразу после неё. Если оплата уже прошла, ничего делать не нужно.",
                payment_phrase(to.payment_method)
            ),
            "Завершить оплату",
        ),
    };
    let text = format!(
        "{greeting}\n\n{heading}. {body}\n\n{button}: {product_url}\n\nЕсли письмо пришло по ошибке, просто не отвечайте на него."
    );
    let html = format!(
        "<!doctype html><html lang=\"ru\"><body style=\"font-family:Arial,sans-serif;color:#1a1a1a\">\
         <p>{greeting}</p>\
         <h1 style=\"font-size:22px\">{heading}</h1>\
         <p>{body}</p>\
         <p><a href=\"{href}\" style=\"display:inline-block;padding:12px 24px;background:#00a86b;color:#fff;\
         text-decoration:none;border-radius:6px\">{button}</a></p>\
         <p style=\"color:#777;font-size:12px\">Если письмо пришло по ошибке, просто не отвечайте на него.</p>\
         </body></html>",
        greeting = escape_html(&greeting),
        heading = escape_html(&heading),
        body = escape_html(&body),
        href = escape_html(product_url),
    );
    EmailMessage {
        to: to.email.to_owned(),
        subject,
        html,
        text,
        idempotency_key: idempotency_key.to_owned(),
        lead_id: to.lead_id,
    }
}

/// The lead's SMS of `template`, sent after the email.
pub fn lead_sms(template: Template, to: &Addressee<'_>, product_url: &str, idempotency_key: &str) -> SmsMessage {
    let text = match template {
        Template::QuizResult => format!("{} Тест пройден! Ваш результат и продукт: {product_url}", greeting(to.name)),
        Template::Checkout => format!(
            "{} Express-курс ждёт оплаты {}. Завершить: {product_url}",
            greeting(to.name),
            payment_phrase(to.payment_method)
        ),
    };
    SmsMessage { to: to.phone.trim_start_matches('+').to_owned(), text, idempotency_key: idempotency_key.to_owned() }
}

/// «через Kaspi» and the like, for the payment method a checkout lead chose.
fn payment_phrase(method: Option<&str>) -> String {
    match method {
        Some("kaspi") => "через Kaspi".to_owned(),
        Some("halyk") => "через Halyk".to_owned(),
        Some("prodamus") => "картой через Prodamus".to_owned(),
        Some("robokassa") => "картой через Robokassa".to_owned(),
        Some(other) => format!("способом «{other}»"),
        None => "удобным способом".to_owned(),
    }
}

/// Each lead template rendered for a synthetic sample lead, for the admins' preview.
pub fn template_previews(product_url: &str) -> Vec<TemplatePreview> {
    let sample = |payment_method| Addressee {
        lead_id: 1,
        name: "Айгерим Тестова",
        email: "sample.lead@example.com",
        phone: "+77010000000",
        payment_method,
    };
    [
        (Template::QuizResult, "Квиз ProfTest", sample(None)),
        (Template::Checkout, "Оплата Express-курса", sample(Some("kaspi"))),
    ]
    .into_iter()
    .map(|(template, kind, lead)| {
        let email = lead_email(template, &lead, product_url, "preview");
        let sms = lead_sms(template, &lead, product_url, "preview");
        TemplatePreview { kind: kind.to_owned(), subject: email.subject, email_text: email.text, sms_text: sms.text }
    })
    .collect()
}

fn greeting(name: &str) -> String {
    let first = name.split_whitespace().next().unwrap_or_default();
    if first.is_empty() {
        "Здравствуйте!".to_owned()
    } else {
        format!("{first}, здравствуйте!")
    }
}

/// Escapes text for HTML element content and attribute values; Telegram's HTML mode
/// reads the same entities.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The sale announcement, user data escaped for Telegram's HTML mode.
pub fn sale_message(notice: &SaleNotice) -> String {
    let product = match notice.product.as_str() {
        "express" => "Express Course",
        "flagship" => "Integrator Flagman",
        _ => "Другой продукт",
    };
    let team = notice.team_name.as_deref().map(escape_html);
    let emoji = notice.team_emoji.as_deref().unwrap_or("📊");
    let mut lines = vec![
        "🎉 <b>НОВАЯ ПРОДАЖА!</b>".to_owned(),
        format!("{emoji} Таргетолог: {}", team.clone().unwrap_or_else(|| "без команды".into())),
        format!("👤 Клиент: {}", escape_html(notice.contact_name.as_deref().unwrap_or("—"))),
        format!("💰 Сумма: {}", format::tenge(notice.amount).replace('\u{a0}', " ")),
        format!("📦 Продукт: {product}"),
        format!("🏷️ Кампания: {}", escape_html(notice.utm_campaign.as_deref().unwrap_or("—"))),
    ];
    if let Some(team) = team {
        lines.push(format!("{team}, ПОЗДРАВЛЯЕМ! ПО ВАМ СДЕЛАЛИ ПРОДАЖУ! 🔥"));
    }
    lines.join("\n")
}

/// An alert's notice in the admins' chat: raised, or «решено» with how long it lasted.
pub fn alert_message(alert: &AlertRow, phase: Phase) -> String {
    let title = escape_html(&alert.title);
    match (phase, alert.cleared_at) {
        (Phase::Cleared, Some(cleared_at)) => {
            let minutes = (cleared_at - alert.raised_at) / 60_000;
            format!("✅ <b>Решено:</b> {title}\nдлилось {minutes} мин, до {}", format_almaty(cleared_at))
        }
        _ => format!("🚨 <b>{title}</b>\n{}\nс {}", escape_html(&alert.detail), format_almaty(alert.raised_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead<'a>(name: &'a str, payment_method: Option<&'a str>) -> Addressee<'a> {
        Addressee { lead_id: 7, name, email: "lead@example.com", phone: "+77051234567", payment_method }
    }

    #[test]
    fn the_email_greets_by_first_name_and_escapes_it() {
        let email = lead_email(
            Template::QuizResult,
            &lead("Айгерим <b>Тестова</b>", None),
            "https://example.kz/p",
            "lead-7-email",
        );
        assert_eq!(email.subject, "Тест пройден. Получить продукт");
        assert!(email.text.starts_with("Айгерим, здравствуйте!"));
        assert!(email.html.contains("https://example.kz/p"));
        let tricky = lead_email(Template::QuizResult, &lead("<script>", None), "https://example.kz/p", "k");
        assert!(tricky.html.contains("&lt;script&gt;"));
        assert!(!tricky.html.contains("<script>"));
    }

    #[test]
    fn checkout_leads_get_the_next_step_of_their_payment_not_the_quiz_result() {
        assert_eq!(Template::for_kind("express"), Template::Checkout);
        assert_eq!(Template::for_kind("proftest"), Template::QuizResult);
        let buyer = lead("Дана", Some("kaspi"));
        let email = lead_email(Template::Checkout, &buyer, "https://example.kz/p", "k");
        assert_eq!(email.subject, "Express-курс: завершите оплату");
        assert!(email.text.contains("через Kaspi") && !email.text.contains("Тест пройден"), "{}", email.text);
        let sms = lead_sms(Template::Checkout, &buyer, "https://example.kz/p", "k");
        assert_eq!(
            sms.text,
            "Дана, здравствуйте! Express-курс ждёт оплаты через Kaspi. Завершить: https://example.kz/p"
        );
        let previews = template_previews("https://example.kz/p");
        assert_eq!(previews.len(), 2);
        assert!(previews.iter().all(|preview| preview.email_text.starts_with("Айгерим, здравствуйте!")));
    }

    #[test]
    fn the_sms_goes_to_digits_without_plus() {
        let sms = lead_sms(Template::QuizResult, &lead("Дана", None), "https://example.kz/p", "lead-1-sms");
        assert_eq!(sms.to, "77051234567");
        assert!(sms.text.starts_with("Дана, здравствуйте!"));
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape_html(r#"<b>"ok" & 'x'</b>"#), "&lt;b&gt;&quot;ok&quot; &amp; &#39;x&#39;&lt;/b&gt;");
    }

    #[test]
    fn the_sale_message_escapes_user_data() {
        let notice = SaleNotice {
            product: "express".into(),
            amount: 5_000,
            contact_name: Some("<b>Айгерим & Co</b>".into()),
            utm_campaign: Some("tripwire<nov>".into()),
            team_name: Some("Kenesary".into()),
            team_emoji: Some("👑".into()),
            telegram_chat_id: None,
        };
        assert_eq!(
            sale_message(&notice),
            "🎉 <b>НОВАЯ ПРОДАЖА!</b>\n👑 Таргетолог: Kenesary\n👤 Клиент: &lt;b&gt;Айгерим &amp; Co&lt;/b&gt;\n\
             💰 Сумма: 5 000 ₸\n📦 Продукт: Express Course\n🏷️ Кампания: tripwire&lt;nov&gt;\n\
             Kenesary, ПОЗДРАВЛЯЕМ! ПО ВАМ СДЕЛАЛИ ПРОДАЖУ! 🔥"
        );
    }
}
