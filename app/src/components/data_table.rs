//! A titled table of text cells with a "Скачать CSV" link built from the same rows, so
//! the export is always exactly what the table shows.

use leptos::prelude::*;

use super::csv_export::CsvLink;

/// One row: its cells as shown, the same values as exported, and an optional key for
/// tests and styles (`data-row`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub key: Option<String>,
    /// Formatted for people: `5 000 ₸`.
    pub shown: Vec<String>,
    /// Bare values for spreadsheets: `5000`.
    pub exported: Vec<String>,
}

impl TableRow {
    /// A row shown and exported alike.
    pub fn plain(cells: Vec<String>) -> Self {
        Self { key: None, exported: cells.clone(), shown: cells }
    }
}

/// The table under an `h2` with its CSV link; columns listed in `numeric` align right.
#[component]
pub fn DataTable(
    /// The heading and the region's accessible name.
    #[prop(into)]
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<TableRow>,
    /// The CSV file's name.
    #[prop(into)]
    file_name: String,
    #[prop(optional)] numeric: Vec<usize>,
    /// Shown instead of an empty table.
    #[prop(default = "Нет данных за период")]
    empty: &'static str,
) -> impl IntoView {
    let exported: Vec<Vec<String>> = rows.iter().map(|row| row.exported.clone()).collect();
    let head = headers
        .iter()
        .enumerate()
        .map(|(column, header)| view! { <th scope="col" class:num=numeric.contains(&column)>{*header}</th> })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|row| {
            let cells = row
                .shown
                .into_iter()
                .enumerate()
                .map(|(column, cell)| view! { <td class:num=numeric.contains(&column)>{cell}</td> })
                .collect_view();
            view! { <tr data-row=row.key>{cells}</tr> }
        })
        .collect_view();
    let is_empty = exported.is_empty();
    let label = title.clone();
    view! {
        <section class="data-table" aria-label=label>
            <div class="section-head">
                <h2>{title}</h2>
                <CsvLink file_name headers=headers rows=exported />
            </div>
            {if is_empty {
                view! { <p class="empty">{empty}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="leads">
                            <thead>
                                <tr>{head}</tr>
                            </thead>
                            <tbody>{body}</tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}
