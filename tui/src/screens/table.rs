//! The record table every list screen uses. Columns are sized to their content and to the
//! width: when space is short, times lose their clock, numbers are shortened (`1.24M`, never
//! cut), custom fields' columns give up their text and then their place (they come after the
//! built-in ones and matter less to the table), the built-in text columns give up what they
//! must (cut with `…`), and last the rightmost columns are left out. Numbers and money are
//! right-aligned. The body holds as many rows as the area does, which is what the tabs ask the
//! server for (`rows_fitting`).

pub use super::column::{column, Column, Kind, Source};
use crate::format::shorten;
use crate::sort::Sort;
use crate::theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table, TableState};
use ratatui::Frame;
use serde_json::Value as Json;

/// The cells of JSON records for the columns.
pub fn cells(columns: &[Column], rows: &[Json]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| columns.iter().map(|c| c.text(row)).collect())
        .collect()
}

/// Rows of a table that fit in `height` lines (borders and heading taken off).
pub fn rows_fitting(height: u16) -> usize {
    usize::from(height.saturating_sub(3)).max(1)
}

fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// How one column is drawn once fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    pub width: u16,
    /// Times shown as their date.
    pub date_only: bool,
}

/// A column as [`fit`] measures it.
#[derive(Debug, Clone, Copy)]
pub struct Measured<'a> {
    pub heading: &'a str,
    pub kind: Kind,
    /// A custom field's column: it goes before a built-in column gives up anything but the
    /// clock of its times and the digits of its numbers.
    pub custom: bool,
}

/// The widths of the columns in `available` cells (one cell between columns); `None` for a
/// column left out.
pub fn fit(columns: &[Measured], rows: &[Vec<String>], available: u16) -> Vec<Option<Fitted>> {
    let available = usize::from(available);
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |s| width(s)))
                .fold(width(c.heading), usize::max)
        })
        .collect();
    let mut widths = natural.clone();
    let mut date_only = vec![false; columns.len()];
    let mut kept = vec![true; columns.len()];
    // 1. Times keep their date.
    for (i, c) in columns.iter().enumerate() {
        if total(&widths, &kept) <= available {
            break;
        }
        if c.kind == Kind::Time {
            date_only[i] = true;
            let dates = rows
                .iter()
                .map(|r| r.get(i).map_or(0, |s| width(date_of(s))))
                .max()
                .unwrap_or(0);
            widths[i] = dates.max(width(c.heading).min(10));
        }
    }
    // 2. Numbers are shortened (their heading may be cut, a value never).
    for (i, c) in columns.iter().enumerate() {
        if total(&widths, &kept) <= available {
            break;
        }
        if c.kind == Kind::Number {
            let values = rows
                .iter()
                .map(|r| r.get(i).map_or(0, |s| width(&shorten(s))))
                .max()
                .unwrap_or(0);
            widths[i] = values.max(width(c.heading).min(4)).min(widths[i]);
        }
    }
    let readable = |i: usize| natural[i].min(COMFORTABLE);
    let least = |i: usize| natural[i].min(width(columns[i].heading).clamp(4, 6));
    // 3. Custom fields' text gives up space down to a readable width; 4. then custom columns
    // go, from the right: the built-in ones are what the table is for.
    let custom = |i: usize| columns[i].custom;
    shrink_text(columns, &mut widths, &kept, available, readable, custom);
    let built_in: Vec<usize> = (0..columns.len()).filter(|i| !custom(*i)).collect();
    drop_from_right(&mut kept, &widths, available, &built_in);
    // 5. Text columns give up space down to a readable width; 6. then the rightmost
    // columns go (not the first two, nor the first text column); 7. then text gives up what
    // is left; 8. then any column but the first goes.
    let any = |_: usize| true;
    shrink_text(columns, &mut widths, &kept, available, readable, any);
    // The first column and the first text column (what names a row) stay longest.
    let first_text = columns.iter().position(|c| c.kind == Kind::Text);
    let keep: Vec<usize> = [Some(0), Some(1), first_text]
        .into_iter()
        .flatten()
        .collect();
    drop_from_right(&mut kept, &widths, available, &keep);
    shrink_text(columns, &mut widths, &kept, available, least, any);
    drop_from_right(&mut kept, &widths, available, &[0]);
    // 9. What columns left out freed goes back to the text that was cut.
    for i in 0..columns.len() {
        let spare = available.saturating_sub(total(&widths, &kept));
        if kept[i] && columns[i].kind == Kind::Text && widths[i] < natural[i] {
            widths[i] += spare.min(natural[i] - widths[i]);
        }
    }
    if total(&widths, &kept) > available {
        widths[0] = available;
    }
    (0..columns.len())
        .map(|i| {
            kept[i].then(|| Fitted {
                width: u16::try_from(widths[i]).unwrap_or(u16::MAX),
                date_only: date_only[i],
            })
        })
        .collect()
}

/// Text columns are not cut below this before other columns are left out.
const COMFORTABLE: usize = 14;

/// The width of the columns kept, with one cell between two.
fn total(widths: &[usize], kept: &[bool]) -> usize {
    let shown: Vec<usize> = widths
        .iter()
        .zip(kept)
        .filter(|(_, k)| **k)
        .map(|(w, _)| *w)
        .collect();
    shown.iter().sum::<usize>() + shown.len().saturating_sub(1)
}

/// Takes what is over `available` from the kept text columns that `which` chooses, in
/// proportion to what each has above its floor.
fn shrink_text(
    columns: &[Measured],
    widths: &mut [usize],
    kept: &[bool],
    available: usize,
    floor: impl Fn(usize) -> usize,
    which: impl Fn(usize) -> bool,
) {
    let text: Vec<usize> = (0..columns.len())
        .filter(|i| kept[*i] && columns[*i].kind == Kind::Text && which(*i))
        .collect();
    let over = total(widths, kept).saturating_sub(available);
    let spare: usize = text
        .iter()
        .map(|i| widths[*i].saturating_sub(floor(*i)))
        .sum();
    if over == 0 || spare == 0 {
        return;
    }
    let mut left = over.min(spare);
    for i in &text {
        let share = widths[*i].saturating_sub(floor(*i)) * over.min(spare) / spare;
        let take = share.min(left);
        widths[*i] -= take;
        left -= take;
    }
    for i in &text {
        let take = widths[*i].saturating_sub(floor(*i)).min(left);
        widths[*i] -= take;
        left -= take;
    }
}

/// Leaves out columns from the right, but not those in `keep`, until the rest fit.
fn drop_from_right(kept: &mut [bool], widths: &[usize], available: usize, keep: &[usize]) {
    for i in (0..kept.len()).rev() {
        if total(widths, kept) <= available {
            return;
        }
        if !keep.contains(&i) {
            kept[i] = false;
        }
    }
}

fn date_of(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}

/// A cell's text as it fits: a number whole or shortened, a time or its date, text cut.
pub fn fitted_text(kind: Kind, text: &str, fitted: Fitted) -> String {
    let room = usize::from(fitted.width);
    match kind {
        Kind::Number if width(text) > room => shorten(text),
        Kind::Time if fitted.date_only => date_of(text).to_string(),
        _ if width(text) > room => cut(text, room),
        _ => text.to_string(),
    }
}

/// Text cut to `room` cells, ending in `…`.
pub fn cut(text: &str, room: usize) -> String {
    if width(text) <= room {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if width(&out) + width(&c.to_string()) + 1 > room {
            break;
        }
        out.push(c);
    }
    if room > 0 {
        out.push('…');
    }
    out
}

/// A table to draw.
pub struct View<'a> {
    pub title: String,
    pub columns: &'a [Column],
    pub rows: &'a [Vec<String>],
    /// The highlighted row (none for a table that is only read).
    pub selected: Option<usize>,
    pub sort: Option<Sort>,
}

/// Draws records under `columns`, the selected one highlighted, in the sort given.
pub fn render_records(
    frame: &mut Frame,
    area: Rect,
    title: String,
    columns: &[Column],
    records: &[Json],
    selected: Option<usize>,
    sort: Option<Sort>,
) {
    let rows = cells(columns, records);
    render(
        frame,
        area,
        View {
            title,
            columns,
            rows: &rows,
            selected,
            sort,
        },
    );
}

/// " · sorted by Amount ▼ (this page)" for a table's title, or nothing.
pub fn sorted_note(sort: Option<Sort>, columns: &[Column], scope: &str) -> String {
    sort.map(|s| format!(" · {}{scope}", s.describe(columns)))
        .unwrap_or_default()
}

/// The heading of a column, with the sort marker when it is the sorted one.
fn heading(column: &Column, index: usize, sort: Option<Sort>) -> String {
    match sort {
        Some(sort) if sort.column == index => {
            format!(
                "{}{}",
                column.heading,
                if sort.descending { "▼" } else { "▲" }
            )
        }
        _ => column.heading.to_string(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, view: View) {
    let headings: Vec<String> = view
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| heading(c, i, view.sort))
        .collect();
    let measured: Vec<Measured> = view
        .columns
        .iter()
        .zip(&headings)
        .map(|(c, h)| Measured {
            heading: h.as_str(),
            kind: c.kind,
            custom: c.is_custom(),
        })
        .collect();
    let fitted = fit(&measured, view.rows, area.width.saturating_sub(2));
    let align = |kind: Kind, text: String| -> Cell<'static> {
        let line = Line::from(text);
        Cell::from(if kind == Kind::Number {
            line.right_aligned()
        } else {
            line
        })
    };
    let shown: Vec<(usize, Fitted)> = fitted
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.map(|f| (i, f)))
        .collect();
    let header = Row::new(shown.iter().map(|(i, f)| {
        align(
            view.columns[*i].kind,
            cut(&headings[*i], usize::from(f.width)),
        )
    }))
    .style(theme::header());
    let body: Vec<Row> = view
        .rows
        .iter()
        .map(|row| {
            Row::new(shown.iter().map(|(i, f)| {
                let kind = view.columns[*i].kind;
                let text = row.get(*i).map(String::as_str).unwrap_or("");
                align(kind, fitted_text(kind, text, *f))
            }))
        })
        .collect();
    let widths: Vec<Constraint> = shown
        .iter()
        .map(|(_, f)| Constraint::Length(f.width))
        .collect();
    let table = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .block(
            Block::bordered()
                .title(view.title)
                .title_style(theme::title()),
        )
        .row_highlight_style(theme::selected());
    let mut state =
        TableState::default().with_selected(view.selected.filter(|_| !view.rows.is_empty()));
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn built_in(heading: &'static str, kind: Kind) -> Measured<'static> {
        Measured {
            heading,
            kind,
            custom: false,
        }
    }

    const COLUMNS: [Measured; 4] = [
        built_in("ID", Kind::Number),
        built_in("Name", Kind::Text),
        built_in("Amount", Kind::Number),
        built_in("Created", Kind::Time),
    ];

    fn rows() -> Vec<Vec<String>> {
        vec![vec![
            "7".into(),
            "Ada Lovelace of the Analytical Engine".into(),
            "1240600.00".into(),
            "2026-11-25T09:30:00Z".into(),
        ]]
    }

    #[test]
    fn columns_take_their_content_width_when_it_fits() {
        let fitted = fit(&COLUMNS, &rows(), 200);
        let widths: Vec<u16> = fitted.iter().map(|f| f.unwrap().width).collect();
        assert_eq!(widths, [2, 37, 10, 20]);
    }

    #[test]
    fn short_space_takes_dates_then_shortens_numbers_then_cuts_text() {
        let fitted = fit(&COLUMNS, &rows(), 60);
        let f: Vec<Fitted> = fitted.iter().map(|f| f.unwrap()).collect();
        assert!(f[3].date_only);
        assert_eq!(f[3].width, 10);
        let total: u16 = f.iter().map(|f| f.width).sum::<u16>() + 3;
        assert!(total <= 60, "{f:?}");
        let fitted = fit(&COLUMNS, &rows(), 30);
        let amount = fitted[2].unwrap();
        assert_eq!(fitted_text(Kind::Number, "1240600.00", amount), "1.24M");
        let name = fitted[1].unwrap();
        assert!(fitted_text(Kind::Text, &rows()[0][1], name).ends_with('…'));
    }

    #[test]
    fn a_column_that_cannot_fit_is_left_out_rather_than_cut() {
        let fitted = fit(&COLUMNS, &rows(), 14);
        assert!(fitted[0].is_some());
        assert!(fitted[3].is_none());
        for (i, f) in fitted.iter().enumerate() {
            if let (Some(f), Kind::Number) = (f, COLUMNS[i].kind) {
                let text = fitted_text(Kind::Number, &rows()[0][i], *f);
                assert!(width(&text) <= usize::from(f.width), "{text} in {f:?}");
            }
        }
    }

    #[test]
    fn custom_columns_go_before_a_built_in_one_gives_up_its_text() {
        let mut columns = COLUMNS.to_vec();
        for heading in ["company", "stage"] {
            columns.push(Measured {
                heading,
                kind: Kind::Text,
                custom: true,
            });
        }
        let mut rows = rows();
        rows[0].extend(["Acme Industries Worldwide".to_string(), "lead".to_string()]);
        // Room for everything: all shown whole.
        let wide = fit(&columns, &rows, 200);
        assert!(wide.iter().all(Option::is_some), "{wide:?}");
        // Short: after the time's clock and the number's digits, "company" gives up its text
        // (the name stays whole).
        let fitted = fit(&columns, &rows, 80);
        assert_eq!(fitted[1].map(|f| f.width), Some(37), "{fitted:?}");
        assert!(fitted[4].is_some_and(|f| f.width < 25), "{fitted:?}");
        assert!(fitted[5].is_some(), "{fitted:?}");
        // Narrower: both custom columns go before the name is cut.
        let fitted = fit(&columns, &rows, 70);
        assert!(fitted[4].is_none() && fitted[5].is_none(), "{fitted:?}");
        assert_eq!(fitted[1].map(|f| f.width), Some(37), "{fitted:?}");
    }
}
