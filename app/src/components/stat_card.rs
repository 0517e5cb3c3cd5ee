use leptos::prelude::*;

/// One number with its caption.
#[component]
pub fn StatCard(
    /// The caption, in Russian.
    label: &'static str,
    /// The number.
    value: i64,
) -> impl IntoView {
    view! {
        <div class="stat-card" role="group" aria-label=label>
            <div class="stat-value">{format_count(value)}</div>
            <div class="stat-label">{label}</div>
        </div>
    }
}

/// Groups thousands with a space, the Russian way: `12 345`.
pub fn format_count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    if value < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::format_count;

    #[test]
    fn thousands_are_grouped_with_spaces() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(5000), "5 000");
        assert_eq!(format_count(1234567), "1 234 567");
        assert_eq!(format_count(-490000), "-490 000");
    }
}
