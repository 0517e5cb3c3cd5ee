//! The team constructor's form ([`TeamInput`]), parsed: every field checked, patterns split
//! and cleaned.

use crate::error::AppError;
use crate::models::TeamInput;

/// A team's editable fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamFields {
    pub name: String,
    pub direction: String,
    /// `#rrggbb`, lowercase.
    pub color: String,
    pub emoji: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    /// Trimmed, lowercase, without duplicates, in the order given.
    pub patterns: Vec<String>,
    pub telegram_chat_id: Option<String>,
}

impl TeamFields {
    /// Checks the form as posted; `Validation` names the first wrong field.
    pub fn parse(form: &TeamInput) -> Result<Self, AppError> {
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::validation("name", "название от 1 до 60 символов"));
        }
        let color = match form.color.trim() {
            "" => "#00ff88".to_owned(),
            color
                if color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                color.to_ascii_lowercase()
            }
            _ => return Err(AppError::validation("color", "цвет в виде #RRGGBB")),
        };
        let emoji = match form.emoji.trim() {
            "" => "📊".to_owned(),
            emoji if emoji.chars().count() <= 8 => emoji.to_owned(),
            _ => return Err(AppError::validation("emoji", "не больше 8 символов")),
        };
        let mut patterns: Vec<String> = Vec::new();
        for pattern in form.patterns.split([',', '\n']).map(|pattern| pattern.trim().to_lowercase()) {
            if pattern.chars().count() > 100 {
                return Err(AppError::validation("patterns", "шаблон длиннее 100 символов"));
            }
            if !pattern.is_empty() && !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        if patterns.len() > 100 {
            return Err(AppError::validation("patterns", "не больше 100 шаблонов"));
        }
        let telegram_chat_id = optional(&form.telegram_chat_id);
        if let Some(chat) = &telegram_chat_id {
            let numeric = chat.strip_prefix('-').unwrap_or(chat).chars().all(|c| c.is_ascii_digit());
            let channel = chat.starts_with('@') && chat.len() > 1;
            if !numeric && !channel {
                return Err(AppError::validation("telegram_chat_id", "числовой id чата или @имя канала"));
            }
        }
        Ok(Self {
            name: name.to_owned(),
            direction: form.direction.trim().to_owned(),
            color,
            emoji,
            utm_source: optional(&form.utm_source),
            utm_medium: optional(&form.utm_medium),
            patterns,
            telegram_chat_id,
        })
    }
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, color: &str, patterns: &str, telegram_chat_id: &str) -> TeamInput {
        TeamInput {
            name: name.to_owned(),
            color: color.to_owned(),
            patterns: patterns.to_owned(),
            telegram_chat_id: telegram_chat_id.to_owned(),
            ..TeamInput::default()
        }
    }

    #[test]
    fn patterns_are_split_cleaned_and_deduplicated() {
        let form = input(" Muha ", "", "onai, On AI\nзапуск,,ONAI ", "");
        let fields = TeamFields::parse(&form).unwrap();
        assert_eq!(fields.name, "Muha");
        assert_eq!(fields.patterns, ["onai", "on ai", "запуск"]);
        assert_eq!((fields.color.as_str(), fields.emoji.as_str()), ("#00ff88", "📊"));
        assert_eq!(fields.utm_source, None);
    }

    #[test]
    fn each_wrong_field_is_named() {
        let field = |form: TeamInput| match TeamFields::parse(&form) {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(input("  ", "", "", "")), "name");
        assert_eq!(field(input("A", "green", "", "")), "color");
        assert_eq!(field(input("A", "", "", "chat")), "telegram_chat_id");
        assert!(TeamFields::parse(&input("A", "", "", "-100123")).is_ok());
    }
}
