//! The layout rules, at 80×24 and 160×48, rendered into ratatui's `TestBackend`: tables fill
//! the screen (pages ask for as many rows as are shown), no number is cut (it is whole or
//! shortened, `1.24M`), money is right-aligned, and the tab bar and status line fit.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{args_of, logged_in, reply};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::App;
use crm_tui::format::shorten;
use crm_tui::net::Purpose;
use crm_tui::ui;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn screen(app: &App, (width, height): (u16, u16)) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::render(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    buffer
        .content()
        .chunks(usize::from(width))
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect()
}

fn array(values: Vec<serde_json::Value>) -> Value {
    Value::Array(
        values
            .into_iter()
            .map(|v| Value::Bulk(v.to_string().into_bytes()))
            .collect(),
    )
}

fn order(id: u64) -> serde_json::Value {
    // Amounts of every size, up to the largest money value.
    let amount = match id % 4 {
        0 => "1.05".to_string(),
        1 => format!("{}.50", id * 37),
        2 => "99999999.99".to_string(),
        _ => "1240600.59".to_string(),
    };
    json!({"id": id, "customer_id": 1000 + id, "product_id": 7, "quantity": 3,
           "unit_price": "33333333.33", "amount": amount, "created_at": "2026-02-01T00:00:00Z"})
}

/// A console on the Orders tab at `size`, its page filled with what it asked for.
fn orders_at(size: (u16, u16)) -> (App, usize) {
    let mut app = logged_in();
    app.resize(size.0, size.1);
    let sent = args_of(&app.apply(Action::GoToTab(2)));
    let limit: usize = sent[0].last().unwrap().parse().unwrap();
    let rows = (1..=limit as u64).map(order).collect();
    reply(&mut app, Purpose::OrdersPage, array(rows));
    (app, limit)
}

#[test]
// Guards against tables showing 20 rows whatever the terminal's height.
fn a_page_fills_the_table_at_both_sizes() {
    for size in SIZES {
        let (app, limit) = orders_at(size);
        let lines = screen(&app, size);
        let bottom = lines
            .iter()
            .rposition(|l| l.starts_with('└'))
            .unwrap_or_else(|| panic!("no table bottom at {size:?}"));
        // The last row asked for sits just above the table's bottom border.
        let last = &lines[bottom - 1];
        assert!(
            last.starts_with(&format!(
                "│{limit:>width$}",
                width = limit.to_string().len()
            )),
            "{size:?}: the page of {limit} does not end on the last line:\n{}",
            lines.join("\n")
        );
        // Tab bar, prompt, border, heading, rows, border, status line.
        assert_eq!(usize::from(size.1), limit + 6, "{size:?}");
    }
}

#[test]
// Guards against numbers cut to fit a column (`1240600.` for 1240600.59).
fn no_number_is_cut_at_either_size() {
    for size in SIZES {
        let (app, _) = orders_at(size);
        let text = screen(&app, size).join("\n");
        for amount in ["99999999.99", "1240600.59", "33333333.33"] {
            assert!(
                text.contains(amount) || text.contains(&shorten(amount)),
                "{size:?}: {amount} neither whole nor shortened:\n{text}"
            );
        }
        for cut in ["1240600.\u{2026}", "99999999\u{2026}", "3333333\u{2026}"] {
            assert!(!text.contains(cut), "{size:?}: {cut}:\n{text}");
        }
    }
    // Analytics at 80×24 held `1240600.` and `99963` before.
    let mut app = logged_in();
    app.resize(80, 24);
    app.apply(Action::GoToTab(3));
    reply(
        &mut app,
        Purpose::Rfm,
        array(vec![
            json!({"segment": "champions", "customers": 139, "revenue": "1240600.59"}),
        ]),
    );
    reply(
        &mut app,
        Purpose::TopCustomers,
        array(vec![
            json!({"customer_id": 1, "name": "Björn O'Brien", "order_count": 311, "total_amount": "99963.46"}),
        ]),
    );
    for size in SIZES {
        let text = screen(&app, size).join("\n");
        assert!(
            text.contains("1240600.59") || text.contains("1.24M"),
            "{size:?}:\n{text}"
        );
        assert!(
            text.contains("99963.46") || text.contains("100k"),
            "{size:?}:\n{text}"
        );
        assert!(!text.contains("1240600. "), "{size:?}:\n{text}");
    }
}

#[test]
fn money_is_right_aligned() {
    for size in SIZES {
        let (app, _) = orders_at(size);
        let lines = screen(&app, size);
        let heading = lines.iter().find(|l| l.contains("Amount")).unwrap();
        let end = |line: &str, text: &str| -> Option<usize> {
            line.find(text)
                .map(|at| line[..at].chars().count() + text.chars().count())
        };
        let column_end = end(heading, "Amount").unwrap();
        let mut seen = 0;
        for line in &lines {
            for amount in ["1.05", "37.50", "185.50"] {
                if let Some(at) = line.find(&format!(" {amount} ")) {
                    let right = line[..at].chars().count() + 1 + amount.len();
                    if right == column_end {
                        seen += 1;
                    }
                }
            }
        }
        assert!(
            seen >= 3,
            "{size:?}: amounts do not end under their heading:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn the_tab_bar_and_the_status_line_fit_at_both_sizes() {
    for size in SIZES {
        let app = logged_in();
        let lines = screen(&app, size);
        assert!(
            lines[0].contains("8 Dupl") || lines[0].contains("8 Duplicates"),
            "{size:?}: {}",
            lines[0]
        );
        assert!(lines[0].contains("1 Cust"), "{}", lines[0]);
        let status = lines.last().unwrap();
        assert!(
            status.contains("connected to 127.0.0.1:7379"),
            "{size:?}: {status}"
        );
    }
}
