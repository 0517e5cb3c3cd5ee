//! Every text the product sends: the quiz-result email and the follow-up SMS, in Russian
//! and personalised with the lead's name (`docs/product.md`, "Email and SMS"), and the
//! Telegram announcement of a sale.

use crate::db::sale::SaleNotice;
use crate::format;
use crate::providers::{EmailMessage, SmsMessage};

/// The quiz-result email to `name` at `to`, with a button to `product_url`.
pub fn quiz_result_email(lead_id: i64, name: &str, to: &str, product_url: &str, idempotency_key: &str) -> EmailMessage {
    let greeting = greeting(name);
    let text = format!(
        "{greeting}\n\nТест пройден. Мы подобрали для вас программу по результатам теста.\n\n\
         Получить продукт: {product_url}\n\nЕсли письмо пришло по ошибке, просто не отвечайте на него."
    );
    let html = format!(
        "<!doctype html><html lang=\"ru\"><body style=\"font-family:Arial,sans-serif;color:#1a1a1a\">\
         <p>{greeting}</p>\
         <h1 style=\"font-size:22px\">Тест пройден</h1>\
         <p>Мы подобрали для вас программу по результатам теста.</p>\
         <p><a href=\"{href}\" style=\"display:inline-block;padding:12px 24px;background:#00a86b;color:#fff;\
         text-decoration:none;border-radius:6px\">Получить продукт</a></p>\
         <p style=\"color:#777;font-size:12px\">Если письмо пришло по ошибке, просто не отвечайте на него.</p>\
         </body></html>",
        greeting = escape_html(&greeting),
        href = escape_html(product_url),
    );
    EmailMessage {
        to: to.to_owned(),
        subject: "Тест пройден. Получить продукт".to_owned(),
        html,
        text,
        idempotency_key: idempotency_key.to_owned(),
        lead_id,
    }
}

/// The follow-up SMS to `name` at the E.164 phone `phone`.
pub fn follow_up_sms(name: &str, phone: &str, product_url: &str, idempotency_key: &str) -> SmsMessage {
    SmsMessage {
        to: phone.trim_start_matches('+').to_owned(),
        text: format!("{} Тест пройден! Ваш результат и продукт: {product_url}", greeting(name)),
        idempotency_key: idempotency_key.to_owned(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_greets_by_first_name_and_escapes_it() {
        let email =
            quiz_result_email(7, "Айгерим <b>Тестова</b>", "lead@example.com", "https://example.kz/p", "lead-7-email");
        assert_eq!(email.subject, "Тест пройден. Получить продукт");
        assert!(email.text.starts_with("Айгерим, здравствуйте!"));
        assert!(email.html.contains("https://example.kz/p"));
        let tricky = quiz_result_email(7, "<script>", "lead@example.com", "https://example.kz/p", "k");
        assert!(tricky.html.contains("&lt;script&gt;"));
        assert!(!tricky.html.contains("<script>"));
    }

    #[test]
    fn the_sms_goes_to_digits_without_plus() {
        let sms = follow_up_sms("Дана", "+77051234567", "https://example.kz/p", "lead-1-sms");
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
