//! Analytics: top customers (bars), monthly revenue (chart), RFM segments, clusters, anomalies.

use crate::page::field_text;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols;
use ratatui::text::Line;
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Chart, Dataset, GraphType, Row, Table,
};
use ratatui::Frame;

/// What the Analytics tab shows.
#[derive(Debug, Clone, Default)]
pub struct Analytics {
    pub top_customers: Vec<serde_json::Value>,
    pub monthly: Vec<serde_json::Value>,
    pub rfm: Vec<serde_json::Value>,
    pub clusters: Vec<serde_json::Value>,
    pub anomalies: Vec<serde_json::Value>,
}

fn money(value: &serde_json::Value, key: &str) -> f64 {
    field_text(value, key).parse().unwrap_or(0.0)
}

pub fn render(frame: &mut Frame, area: Rect, a: &Analytics) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let [bars_area, chart_area] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
    let [rfm_area, clusters_area, anomalies_area] = Layout::horizontal([
        Constraint::Percentage(30),
        Constraint::Percentage(35),
        Constraint::Percentage(35),
    ])
    .areas(bottom);

    let bars: Vec<Bar> = a
        .top_customers
        .iter()
        .map(|c| {
            Bar::default()
                .value(money(c, "total_amount") as u64)
                .text_value(field_text(c, "total_amount"))
                .label(Line::from(format!(
                    "{} {}",
                    field_text(c, "customer_id"),
                    field_text(c, "name")
                )))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(
                Block::bordered()
                    .title("Top customers by total")
                    .title_style(theme::title()),
            )
            .direction(ratatui::layout::Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .bar_style(Style::new().fg(Color::Cyan))
            .data(BarGroup::default().bars(&bars)),
        bars_area,
    );

    let points: Vec<(f64, f64)> = a
        .monthly
        .iter()
        .enumerate()
        .map(|(i, m)| (i as f64, money(m, "revenue")))
        .collect();
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let first = a
        .monthly
        .first()
        .map(|m| field_text(m, "month"))
        .unwrap_or_default();
    let last = a
        .monthly
        .last()
        .map(|m| field_text(m, "month"))
        .unwrap_or_default();
    let dataset = Dataset::default()
        .marker(symbols::Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(Color::Yellow))
        .data(&points);
    frame.render_widget(
        Chart::new(vec![dataset])
            .block(
                Block::bordered()
                    .title("Monthly revenue")
                    .title_style(theme::title()),
            )
            .x_axis(
                Axis::default()
                    .bounds([0.0, points.len().max(1) as f64])
                    .labels([Line::from(first), Line::from(last)]),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, max])
                    .labels([Line::from("0"), Line::from(format!("{max:.0}"))]),
            ),
        chart_area,
    );

    let table = |title: &str, heads: &[&str], rows: Vec<Vec<String>>, widths: &[u16]| {
        Table::new(
            rows.into_iter().map(Row::new),
            widths
                .iter()
                .map(|w| Constraint::Length(*w))
                .collect::<Vec<_>>(),
        )
        .header(Row::new(heads.iter().map(|h| h.to_string())).style(theme::header()))
        .block(
            Block::bordered()
                .title(title.to_string())
                .title_style(theme::title()),
        )
    };
    let rfm_rows = a
        .rfm
        .iter()
        .map(|r| {
            vec![
                field_text(r, "segment"),
                field_text(r, "customers"),
                field_text(r, "revenue"),
            ]
        })
        .collect();
    frame.render_widget(
        table(
            "RFM segments",
            &["Segment", "Cust.", "Revenue"],
            rfm_rows,
            &[12, 6, 12],
        ),
        rfm_area,
    );
    let cluster_rows = a
        .clusters
        .iter()
        .map(|c| {
            let centroid = &c["centroid"];
            vec![
                field_text(c, "cluster"),
                field_text(c, "customers"),
                centroid["recency_days"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{v:.0}")),
                centroid["order_count"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{v:.1}")),
                field_text(centroid, "total_amount"),
            ]
        })
        .collect();
    frame.render_widget(
        table(
            "Clusters (k=4)",
            &["#", "Cust.", "Days", "Orders", "Total"],
            cluster_rows,
            &[2, 6, 5, 7, 11],
        ),
        clusters_area,
    );
    let anomaly_rows = a
        .anomalies
        .iter()
        .map(|o| {
            vec![
                field_text(o, "id"),
                field_text(o, "amount"),
                o["score"]
                    .as_f64()
                    .map_or("-".into(), |s| format!("{s:.1}")),
            ]
        })
        .collect();
    frame.render_widget(
        table(
            "Anomalies",
            &["Order", "Amount", "Score"],
            anomaly_rows,
            &[8, 12, 7],
        ),
        anomalies_area,
    );
}
