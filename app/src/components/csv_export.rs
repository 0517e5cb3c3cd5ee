//! "Скачать CSV" for a table on the page: the link carries the rows shown as a `data:`
//! URL, so the download is exactly what the user sees and works without JavaScript.
//!
//! Cells are separated by `;` and the file starts with a byte-order mark, which is what
//! Excel with Russian regional settings opens correctly; numbers are written bare.

use leptos::prelude::*;

/// A download link for `rows` under `headers`.
#[component]
pub fn CsvLink(
    /// The downloaded file's name, e.g. `funnel-2026-11-01-2026-11-22.csv`.
    #[prop(into)]
    file_name: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
) -> impl IntoView {
    let href = format!("data:text/csv;charset=utf-8,{}", crate::format::url_encode(&csv_text(&headers, &rows)));
    view! {
        <a class="csv-link" href=href download=file_name>
            "Скачать CSV"
        </a>
    }
}

/// The file's text: a byte-order mark, then one line per row, CRLF-terminated.
pub fn csv_text(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = String::from('\u{feff}');
    let header_cells: Vec<String> = headers.iter().map(|header| cell(header)).collect();
    text.push_str(&header_cells.join(";"));
    text.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|value| cell(value)).collect();
        text.push_str(&cells.join(";"));
        text.push_str("\r\n");
    }
    text
}

/// One cell, quoted when needed. Text that a spreadsheet would run as a formula (UTM tags
/// come from ad links anyone can craft) gets a leading apostrophe.
fn cell(value: &str) -> String {
    let looks_numeric = value.replace(',', ".").parse::<f64>().is_ok();
    let value =
        if !looks_numeric && value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let rows = vec![
            vec!["Kenesary".into(), "12".into(), "-37,5".into()],
            vec!["=HYPERLINK(\"x\")".into(), "a;b".into(), "".into()],
        ];
        let text = csv_text(&["Команда", "Лиды", "ROI"], &rows);
        assert_eq!(text, "\u{feff}Команда;Лиды;ROI\r\nKenesary;12;-37,5\r\n\"'=HYPERLINK(\"\"x\"\")\";\"a;b\";\r\n");
    }
}
