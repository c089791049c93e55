//! How numbers are shown when space is short: never cut, shortened instead (`1.24M`), and
//! byte counts in human units.

/// A number shortened to three significant digits and a unit (`1240600.00` → `1.24M`,
/// `99963` → `100k`); text that is not a number, or already at most five characters, is
/// returned as it is.
pub fn shorten(text: &str) -> String {
    let Ok(value) = text.trim().parse::<f64>() else {
        return text.to_string();
    };
    if text.chars().count() <= 5 || !value.is_finite() {
        return text.to_string();
    }
    const UNITS: [&str; 5] = ["", "k", "M", "G", "T"];
    let sign = if value < 0.0 { "-" } else { "" };
    let mut scaled = value.abs();
    let mut unit = 0;
    while scaled >= 1000.0 && unit + 1 < UNITS.len() {
        scaled /= 1000.0;
        unit += 1;
    }
    let decimals = |x: f64| -> usize {
        if x >= 100.0 {
            0
        } else if x >= 10.0 {
            1
        } else {
            2
        }
    };
    loop {
        let factor = 10f64.powi(decimals(scaled) as i32);
        let rounded = (scaled * factor).round() / factor;
        // Rounding 999.6 gives 1000: move up a unit instead.
        if rounded >= 1000.0 && unit + 1 < UNITS.len() {
            scaled = rounded / 1000.0;
            unit += 1;
            continue;
        }
        let places = decimals(rounded);
        return format!("{sign}{rounded:.places$}{}", UNITS[unit]);
    }
}

/// A byte count in binary units with three significant digits (`1987948` → `1.90 MiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut scaled = bytes as f64 / 1024.0;
    let mut unit = 0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    let digits = if scaled >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    format!("{digits} {}", UNITS[unit])
}

/// A field of a JSON record as display text (money strings, numbers, null as empty).
pub fn field_text(value: &serde_json::Value, key: &str) -> String {
    match &value[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_shorten_to_three_significant_digits() {
        assert_eq!(shorten("1240600.00"), "1.24M");
        assert_eq!(shorten("99963.46"), "100k");
        assert_eq!(shorten("36952.78"), "37.0k");
        assert_eq!(shorten("172.52"), "173");
        assert_eq!(shorten("999999.99"), "1.00M");
        assert_eq!(shorten("-1500000"), "-1.50M");
        assert_eq!(shorten("42.00"), "42.00");
        assert_eq!(shorten("12345"), "12345");
        assert_eq!(shorten("Ada Lovelace"), "Ada Lovelace");
    }

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.00 KiB");
        assert_eq!(human_bytes(1_987_948), "1.90 MiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.00 GiB");
    }
}
