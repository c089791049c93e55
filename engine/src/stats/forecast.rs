//! `STATS.FORECAST`: an ordinary least-squares line through monthly revenue, extended ahead.

use super::{money_f64, month_text, monthly, next_month};
use crate::error::Result;
use crate::store::Store;

/// The fitted trend and its forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Revenue change per month, in cents.
    pub slope_cents: f64,
    /// Fitted revenue of the first month, in cents.
    pub intercept_cents: f64,
    /// Coefficient of determination of the fit; `None` when the revenue has no variance.
    pub r2: Option<f64>,
    /// Months of history, gaps between the first and last order counted as 0.
    pub history: usize,
    /// The months ahead with the line's value there (negative when the trend falls), in cents.
    pub forecast: Vec<((i32, u32), f64)>,
}

impl Forecast {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "slope": self.slope_cents / 100.0,
            "intercept": self.intercept_cents / 100.0,
            "r2": self.r2,
            "history": self.history,
            "forecast": self.forecast.iter().map(|(month, cents)| serde_json::json!({
                "month": month_text(*month),
                "revenue": money_f64(*cents),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Least squares `y = intercept + slope × x` for x = 0, 1, ...; returns (slope, intercept,
/// r², which is `None` when the ys have no variance).
pub(crate) fn least_squares(ys: &[f64]) -> (f64, f64, Option<f64>) {
    let n = ys.len() as f64;
    if ys.is_empty() {
        return (0.0, 0.0, None);
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let sxx: f64 = (0..ys.len()).map(|x| (x as f64 - mean_x).powi(2)).sum();
    let sxy: f64 = ys
        .iter()
        .enumerate()
        .map(|(x, y)| (x as f64 - mean_x) * (y - mean_y))
        .sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_x;
    let ss_tot: f64 = ys.iter().map(|y| (y - mean_y).powi(2)).sum();
    let ss_res: f64 = ys
        .iter()
        .enumerate()
        .map(|(x, y)| (y - (intercept + slope * x as f64)).powi(2))
        .sum();
    let r2 = (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot);
    (slope, intercept, r2)
}

/// Fits monthly revenue and forecasts `months` months after the last one.
pub fn forecast(store: &Store, months: usize) -> Result<Forecast> {
    let history = monthly(store, None, None)?;
    let mut series: Vec<((i32, u32), f64)> = Vec::new();
    if let (Some(first), Some(last)) = (history.first(), history.last()) {
        let mut month = (first.year, first.month);
        let end = (last.year, last.month);
        let mut known = history.iter().peekable();
        loop {
            let revenue = match known.peek() {
                Some(m) if (m.year, m.month) == month => {
                    known.next().map_or(0.0, |m| m.revenue_cents as f64)
                }
                _ => 0.0,
            };
            series.push((month, revenue));
            if month == end {
                break;
            }
            month = next_month(month);
        }
    }
    let ys: Vec<f64> = series.iter().map(|(_, y)| *y).collect();
    let (slope, intercept, r2) = least_squares(&ys);
    let mut ahead = Vec::with_capacity(months);
    if let Some(&(mut month, _)) = series.last() {
        for step in 0..months {
            month = next_month(month);
            let x = (series.len() + step) as f64;
            // The line as it is: a falling trend is shown falling, below zero included.
            ahead.push((month, intercept + slope * x));
        }
    }
    Ok(Forecast {
        slope_cents: slope,
        intercept_cents: intercept,
        r2,
        history: series.len(),
        forecast: ahead,
    })
}

#[cfg(test)]
mod tests {
    use super::least_squares;

    #[test]
    fn a_straight_line_fits_exactly() {
        let (slope, intercept, r2) = least_squares(&[1.0, 3.0, 5.0, 7.0]);
        assert!((slope - 2.0).abs() < 1e-9 && (intercept - 1.0).abs() < 1e-9);
        assert!((r2.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(least_squares(&[4.0, 4.0]).2, None);
    }
}
