//! Analytics: top customers (bars), monthly revenue with its forecast drawn after the history,
//! RFM segments, clusters, anomalies and the customers most at risk of churning, under
//! parameters set on a small form (`e`): K, ASOF, the anomaly threshold and the forecast's
//! months.

use super::table::{self, column, Column, Kind};
use crate::format::field_text;
use crate::format::shorten;
use crate::net::Purpose;
use crate::overlay::{Form, FormKind, RecordField};
use crate::theme;
use crate::wire::{self, Words};
use crm_server::request::Command;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value as Json;

/// The parameters, as typed (the server checks them and names what is wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// Clusters (`STATS.CLUSTERS K`).
    pub k: String,
    /// `ASOF` of RFM, clusters and churn (empty: now).
    pub asof: String,
    /// `STATS.ANOMALIES THRESHOLD`.
    pub threshold: String,
    /// `STATS.FORECAST MONTHS`.
    pub months: String,
}

impl Default for Parameters {
    fn default() -> Parameters {
        Parameters {
            k: "4".into(),
            asof: String::new(),
            threshold: "3.0".into(),
            months: "3".into(),
        }
    }
}

/// What the Analytics tab shows.
#[derive(Debug, Clone, Default)]
pub struct Analytics {
    pub parameters: Parameters,
    pub top_customers: Vec<Json>,
    pub monthly: Vec<Json>,
    pub rfm: Vec<Json>,
    pub clusters: Vec<Json>,
    pub anomalies: Vec<Json>,
    pub forecast: Option<Json>,
    pub churn: Option<Json>,
    /// Why the role may not see this tab (`NOPERM`), when it may not.
    pub denied: Option<String>,
}

/// Rows asked of the lists.
const LISTED: usize = 20;

impl Analytics {
    /// The requests that fill the tab with the parameters in force.
    pub fn requests(&self) -> Vec<(Purpose, Words)> {
        let p = &self.parameters;
        vec![
            (
                Purpose::TopCustomers,
                Command::stats_top_customers(LISTED).into(),
            ),
            (Purpose::Monthly, Command::stats_monthly().into()),
            (Purpose::Forecast, wire::forecast(&p.months)),
            (Purpose::Rfm, wire::rfm(&p.asof)),
            (Purpose::Clusters, wire::clusters(&p.k, &p.asof)),
            (Purpose::Anomalies, wire::anomalies(&p.threshold, LISTED)),
            (Purpose::Churn, wire::churn(&p.asof, LISTED)),
        ]
    }

    /// The form that changes the parameters.
    pub fn parameters_form(&self) -> Form {
        let p = &self.parameters;
        Form {
            kind: FormKind::AnalyticsParameters,
            fields: vec![
                Form::field("K", RecordField::Parameter("k"), &p.k),
                Form::field("As of", RecordField::Parameter("asof"), &p.asof),
                Form::field(
                    "Threshold",
                    RecordField::Parameter("threshold"),
                    &p.threshold,
                ),
                Form::field("Months", RecordField::Parameter("months"), &p.months),
            ],
            focus: 0,
        }
    }

    /// Takes the form's values; the field and the complaint when one does not read.
    pub fn set_parameters(&mut self, form: &Form) -> Result<(), (usize, String)> {
        let value = |i: usize| {
            form.fields
                .get(i)
                .map(|f| f.value.text().trim().to_string())
                .unwrap_or_default()
        };
        let (k, asof, threshold, months) = (value(0), value(1), value(2), value(3));
        if !k.parse::<u32>().is_ok_and(|k| (1..=100).contains(&k)) {
            return Err((
                0,
                format!("INVALID k: \"{k}\" is not a whole number from 1 to 100"),
            ));
        }
        if !threshold
            .parse::<f64>()
            .is_ok_and(|z| z.is_finite() && z >= 0.0)
        {
            return Err((
                2,
                format!("INVALID threshold: \"{threshold}\" is not a number"),
            ));
        }
        if !months.parse::<u32>().is_ok_and(|m| (1..=24).contains(&m)) {
            return Err((
                3,
                format!("INVALID months: \"{months}\" is not from 1 to 24"),
            ));
        }
        self.parameters = Parameters {
            k,
            asof,
            threshold,
            months,
        };
        Ok(())
    }
}

/// A month `YYYY-MM` as a number of months.
fn month_number(month: &str) -> Option<i64> {
    let (year, month) = month.split_once('-')?;
    Some(year.parse::<i64>().ok()? * 12 + month.get(..2)?.parse::<i64>().ok()? - 1)
}

fn money(value: &Json, key: &str) -> f64 {
    field_text(value, key).parse().unwrap_or(0.0)
}

/// The revenue history (months without orders as 0, as the forecast counts them) and the
/// forecast, starting from the last month of the history so its line continues it.
/// Points of a line on the chart.
type Points = Vec<(f64, f64)>;

fn series(a: &Analytics) -> (Points, Points, Vec<String>) {
    let months: Vec<(i64, f64)> = a
        .monthly
        .iter()
        .filter_map(|m| Some((month_number(&field_text(m, "month"))?, money(m, "revenue"))))
        .collect();
    let Some(first) = months.iter().map(|m| m.0).min() else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let last = months.iter().map(|m| m.0).max().unwrap_or(first);
    let history: Vec<(f64, f64)> = (first..=last)
        .map(|n| {
            let revenue = months.iter().find(|m| m.0 == n).map_or(0.0, |m| m.1);
            ((n - first) as f64, revenue)
        })
        .collect();
    // The axis spreads its labels evenly: the two ends only (the title says where the
    // history ends).
    let mut labels = vec![
        field_text(&a.monthly[0], "month"),
        a.monthly
            .last()
            .map(|m| field_text(m, "month"))
            .unwrap_or_default(),
    ];
    let mut forecast = Vec::new();
    if let Some(points) = a.forecast.as_ref().and_then(|f| f["forecast"].as_array()) {
        if let Some(end) = history.last() {
            forecast.push(*end);
        }
        for point in points {
            if let Some(n) = month_number(&field_text(point, "month")) {
                forecast.push(((n - first) as f64, money(point, "revenue")));
            }
        }
        if let Some(month) = points.last().map(|p| field_text(p, "month")) {
            labels.push(month);
        }
    }
    (history, forecast, labels)
}

/// The x axis labels: the first month and the last (of the forecast when there is one).
fn ends(labels: &[String]) -> Vec<Line<'static>> {
    match (labels.first(), labels.last()) {
        (Some(first), Some(last)) if labels.len() > 1 => {
            vec![Line::from(first.clone()), Line::from(last.clone())]
        }
        _ => labels.iter().cloned().map(Line::from).collect(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, a: &Analytics) {
    if let Some(reason) = &a.denied {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(reason.clone(), theme::error())),
                Line::from(""),
                Line::from("The statistics (STATS.*) are for the analyst, writer and admin roles."),
            ])
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .title("Analytics")
                    .title_style(theme::title()),
            ),
            area,
        );
        return;
    }
    let [params, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let p = &a.parameters;
    frame.render_widget(
        Paragraph::new(Span::styled(
            format!(
                "K {} · as of {} · anomalies z > {} · forecast {} months · e: change",
                p.k,
                if p.asof.is_empty() { "now" } else { &p.asof },
                p.threshold,
                p.months
            ),
            theme::dim(),
        )),
        params,
    );
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(rest);
    let [bars_area, chart_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
    render_bars(frame, bars_area, a);
    render_chart(frame, chart_area, a);
    let panels: Vec<Rect> = if area.width >= 140 {
        Layout::horizontal([Constraint::Ratio(1, 4); 4])
            .split(bottom)
            .to_vec()
    } else {
        let [upper, lower] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(bottom);
        let mut panels = Layout::horizontal([Constraint::Ratio(1, 2); 2])
            .split(upper)
            .to_vec();
        panels.extend(
            Layout::horizontal([Constraint::Ratio(1, 2); 2])
                .split(lower)
                .iter(),
        );
        panels
    };
    render_tables(frame, &panels, a);
}

fn render_bars(frame: &mut Frame, area: Rect, a: &Analytics) {
    let inner = area.width.saturating_sub(2) as usize;
    let labels: Vec<String> = a
        .top_customers
        .iter()
        .map(|c| format!("{} {}", field_text(c, "customer_id"), field_text(c, "name")))
        .collect();
    let totals: Vec<String> = a
        .top_customers
        .iter()
        .map(|c| field_text(c, "total_amount"))
        .collect();
    let max = a
        .top_customers
        .iter()
        .map(|c| money(c, "total_amount"))
        .fold(0.0, f64::max)
        .max(1.0);
    // Values whole when a third of the width holds them, else shortened.
    let whole = totals.iter().map(|t| t.len()).max().unwrap_or(0);
    let short = inner < 3 * whole + 12;
    let shown: Vec<String> = totals
        .iter()
        .map(|t| if short { shorten(t) } else { t.clone() })
        .collect();
    let value_width = shown.iter().map(|t| t.len()).max().unwrap_or(0);
    let label_width = labels
        .iter()
        .map(|l| Span::raw(l.as_str()).width())
        .max()
        .unwrap_or(0)
        .min(inner.saturating_sub(value_width + 2 + 6))
        .max(4);
    let bar_room = inner.saturating_sub(label_width + value_width + 2);
    let lines: Vec<Line> = a
        .top_customers
        .iter()
        .zip(labels.iter().zip(&shown))
        .take(area.height.saturating_sub(2) as usize)
        .map(|(c, (label, value))| {
            let bar = ((money(c, "total_amount") / max) * bar_room as f64).round() as usize;
            Line::from(vec![
                Span::raw(format!("{:<label_width$} ", table::cut(label, label_width))),
                Span::styled(format!("{value:>value_width$} "), theme::header()),
                Span::styled("█".repeat(bar.max(1)), Style::new().fg(Color::Cyan)),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title("Top customers by total")
                .title_style(theme::title()),
        ),
        area,
    );
}

fn render_chart(frame: &mut Frame, area: Rect, a: &Analytics) {
    let (history, forecast, labels) = series(a);
    let values = history.iter().chain(&forecast).map(|p| p.1);
    let max = values.clone().fold(0.0, f64::max).max(1.0);
    let min = values.fold(0.0, f64::min);
    let end = history
        .iter()
        .chain(&forecast)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let datasets = vec![
        Dataset::default()
            .name("revenue")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Yellow))
            .data(&history),
        Dataset::default()
            .name("forecast")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Magenta))
            .data(&forecast),
    ];
    let fit = a
        .forecast
        .as_ref()
        .and_then(|f| f["r2"].as_f64())
        .map(|r2| format!(" (r² {r2:.2})"))
        .unwrap_or_default();
    frame.render_widget(
        Chart::new(datasets)
            .legend_position(None)
            .block(
                Block::bordered()
                    .title(Line::from(vec![
                        Span::styled(
                            format!(
                                "Monthly revenue to {}",
                                labels.get(1).map_or("", String::as_str)
                            ),
                            Style::new().fg(Color::Yellow),
                        ),
                        Span::styled(
                            format!(" · forecast {} months{fit}", a.parameters.months),
                            Style::new().fg(Color::Magenta),
                        ),
                    ]))
                    .title_style(theme::title()),
            )
            .x_axis(Axis::default().bounds([0.0, end]).labels(ends(&labels)))
            .y_axis(Axis::default().bounds([min, max]).labels([
                Line::from(shorten(&format!("{min:.0}"))),
                Line::from(shorten(&format!("{max:.0}"))),
            ])),
        area,
    );
}

const RFM: [Column; 3] = [
    column("Segment", "segment", Kind::Text),
    column("Cust.", "customers", Kind::Number),
    column("Revenue", "revenue", Kind::Number),
];
const CLUSTERS: [Column; 5] = [
    column("#", "cluster", Kind::Number),
    column("Cust.", "customers", Kind::Number),
    column("Days", "recency_days", Kind::Number),
    column("Orders", "order_count", Kind::Number),
    column("Total", "total_amount", Kind::Number),
];
const ANOMALIES: [Column; 3] = [
    column("Order", "id", Kind::Number),
    column("Amount", "amount", Kind::Number),
    column("Score", "score", Kind::Number),
];
const CHURN: [Column; 3] = [
    column("ID", "customer_id", Kind::Number),
    column("Name", "name", Kind::Text),
    column("Risk", "risk", Kind::Number),
];

fn render_tables(frame: &mut Frame, panels: &[Rect], a: &Analytics) {
    let clusters: Vec<Json> = a
        .clusters
        .iter()
        .map(|c| {
            let centroid = &c["centroid"];
            serde_json::json!({
                "cluster": c["cluster"],
                "customers": c["customers"],
                "recency_days": centroid["recency_days"].as_f64().map(|v| format!("{v:.0}")),
                "order_count": centroid["order_count"].as_f64().map(|v| format!("{v:.1}")),
                "total_amount": centroid["total_amount"],
            })
        })
        .collect();
    let anomalies: Vec<Json> = a
        .anomalies
        .iter()
        .map(|o| {
            let mut row = o.clone();
            row["score"] = o["score"]
                .as_f64()
                .map_or(Json::Null, |s| Json::String(format!("{s:.1}")));
            row
        })
        .collect();
    let churn_rows: Vec<Json> = a
        .churn
        .as_ref()
        .and_then(|c| c["customers"].as_array())
        .map(|list| {
            list.iter()
                .map(|c| {
                    let mut row = c.clone();
                    if c["name"].is_null() {
                        row["name"] = Json::String("(forgotten)".into());
                    }
                    row["risk"] = c["probability"]
                        .as_f64()
                        .map_or(Json::Null, |p| Json::String(format!("{:.1}%", p * 100.0)));
                    row
                })
                .collect()
        })
        .unwrap_or_default();
    let auc = a
        .churn
        .as_ref()
        .and_then(|c| c["auc"].as_f64())
        .map(|auc| format!(" (AUC {auc:.2})"))
        .unwrap_or_default();
    let tables: [(String, &[Column], &[Json]); 4] = [
        ("RFM segments".into(), &RFM, &a.rfm),
        (
            format!("Clusters (k={})", a.parameters.k),
            &CLUSTERS,
            &clusters,
        ),
        (
            format!("Anomalies (z > {})", a.parameters.threshold),
            &ANOMALIES,
            &anomalies,
        ),
        (format!("Churn risk{auc}"), &CHURN, &churn_rows),
    ];
    for ((title, columns, rows), area) in tables.into_iter().zip(panels) {
        table::render_records(frame, *area, title, columns, rows, None, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_forecast_continues_the_history_with_empty_months_as_zero() {
        let a = Analytics {
            monthly: vec![
                json!({"month": "2026-01", "revenue": "10.00"}),
                json!({"month": "2026-03", "revenue": "30.00"}),
            ],
            forecast: Some(json!({"forecast": [{"month": "2026-04", "revenue": "40.00"}]})),
            ..Analytics::default()
        };
        let (history, forecast, labels) = series(&a);
        assert_eq!(history, [(0.0, 10.0), (1.0, 0.0), (2.0, 30.0)]);
        assert_eq!(forecast, [(2.0, 30.0), (3.0, 40.0)]);
        assert_eq!(labels, ["2026-01", "2026-03", "2026-04"]);
    }
}
