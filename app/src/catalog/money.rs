//! Money: integer minor units with an ISO 4217 currency. Never floats.

/// Digits after the decimal point for a currency.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "ISK" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

/// `123456` EUR → `€1,234.56`.
pub fn format(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let unit = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let whole = abs / unit as u64;
    let frac = abs % unit as u64;
    let mut grouped = String::new();
    let w = whole.to_string();
    for (i, c) in w.chars().enumerate() {
        if i > 0 && (w.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let symbol = match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "JPY" => "¥",
        _ => "",
    };
    let amount = if digits == 0 { grouped } else { format!("{grouped}.{frac:0width$}", width = digits as usize) };
    if symbol.is_empty() { format!("{sign}{amount} {currency}") } else { format!("{sign}{symbol}{amount}") }
}

/// `amount × bps / 10 000`, rounded half away from zero to a whole minor unit.
pub fn apply_bps(amount_minor: i64, bps: i64) -> i64 {
    let p = amount_minor as i128 * bps as i128;
    let q = p / 10_000;
    let r = p % 10_000;
    let rounded = if r.abs() * 2 >= 10_000 { q + p.signum() } else { q };
    rounded as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_currency() {
        assert_eq!(format(123456, "EUR"), "€1,234.56");
        assert_eq!(format(5, "USD"), "$0.05");
        assert_eq!(format(-250, "GBP"), "-£2.50");
        assert_eq!(format(1500, "JPY"), "¥1,500");
        assert_eq!(format(1234567, "CHF"), "12,345.67 CHF");
        assert_eq!(format(0, "EUR"), "€0.00");
    }

    #[test]
    fn basis_points_round_half_away_from_zero() {
        assert_eq!(apply_bps(10_000, 500), 500);
        assert_eq!(apply_bps(9_999, 500), 500, "499.95 rounds up");
        assert_eq!(apply_bps(9_990, 500), 500, "499.5 rounds up");
        assert_eq!(apply_bps(9_989, 500), 499, "499.45 rounds down");
        assert_eq!(apply_bps(-9_990, 500), -500);
        assert_eq!(apply_bps(0, 1500), 0);
        assert_eq!(apply_bps(i64::MAX / 2, 10_000), i64::MAX / 2, "no overflow");
    }
}
