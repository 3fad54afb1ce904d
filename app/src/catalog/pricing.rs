//! Pricing: a quote's line items from a price-book entry, term and usage estimate.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::money::apply_bps;

/// The prices of one offering at one bandwidth (minor units of the book's currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub nrc_minor: i64,
    pub mrc_minor: i64,
    pub usage_per_gb_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// `nrc`, `mrc`, `discount` or `usage`.
    pub kind: String,
    pub label: String,
    /// `one_time` or `monthly`.
    pub period: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priced {
    pub lines: Vec<LineItem>,
    pub nrc_minor: i64,
    /// Monthly charge after the term discount, including estimated usage.
    pub monthly_minor: i64,
    /// One-time fee plus the monthly charge over the whole term.
    pub total_minor: i64,
    pub discount_bps: i64,
}

/// The discount for a term: the largest configured term not longer than it.
pub fn term_discount_bps(discounts: &BTreeMap<u32, i64>, term_months: u32) -> i64 {
    discounts.range(..=term_months).next_back().map(|(_, bps)| *bps).unwrap_or(0).clamp(0, 10_000)
}

/// Price a connection. Amounts are exact integers; the discount rounds half away from zero.
pub fn price(p: Price, term_months: u32, discount_bps: i64, est_usage_gb: i64) -> Priced {
    let mut lines = vec![
        LineItem {
            kind: "nrc".into(),
            label: "Set-up (one-time)".into(),
            period: "one_time".into(),
            amount_minor: p.nrc_minor,
        },
        LineItem {
            kind: "mrc".into(),
            label: "Port and connection".into(),
            period: "monthly".into(),
            amount_minor: p.mrc_minor,
        },
    ];
    let discount = apply_bps(p.mrc_minor, discount_bps);
    if discount > 0 {
        lines.push(LineItem {
            kind: "discount".into(),
            label: format!("{term_months}-month term discount ({}%)", bps_percent(discount_bps)),
            period: "monthly".into(),
            amount_minor: -discount,
        });
    }
    let usage = match p.usage_per_gb_minor {
        Some(rate) if est_usage_gb > 0 => {
            let amount = rate.saturating_mul(est_usage_gb);
            lines.push(LineItem {
                kind: "usage".into(),
                label: format!("Estimated usage ({est_usage_gb} GB)"),
                period: "monthly".into(),
                amount_minor: amount,
            });
            amount
        }
        _ => 0,
    };
    let monthly = p.mrc_minor - discount + usage;
    let total = p.nrc_minor.saturating_add(monthly.saturating_mul(term_months as i64));
    Priced { lines, nrc_minor: p.nrc_minor, monthly_minor: monthly, total_minor: total, discount_bps }
}

/// `1250` bps → `12.5`.
pub fn bps_percent(bps: i64) -> String {
    if bps % 100 == 0 {
        (bps / 100).to_string()
    } else {
        format!("{}.{:02}", bps / 100, bps % 100).trim_end_matches('0').to_string()
    }
}

/// Of several dated versions, the one in force at `now`: the latest effective date not after it.
pub fn in_force<T>(versions: &[T], now: i64, effective_from: impl Fn(&T) -> i64) -> Option<&T> {
    versions.iter().filter(|v| effective_from(v) <= now).max_by_key(|v| effective_from(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discounts() -> BTreeMap<u32, i64> {
        [(1, 0), (12, 500), (24, 1000), (36, 1500)].into_iter().collect()
    }

    #[test]
    fn terms_pick_the_largest_discount_they_reach() {
        let d = discounts();
        assert_eq!(term_discount_bps(&d, 1), 0);
        assert_eq!(term_discount_bps(&d, 12), 500);
        assert_eq!(term_discount_bps(&d, 18), 500);
        assert_eq!(term_discount_bps(&d, 36), 1500);
        assert_eq!(term_discount_bps(&d, 60), 1500);
        assert_eq!(term_discount_bps(&BTreeMap::new(), 12), 0);
    }

    #[test]
    fn a_priced_quote_adds_up() {
        let p = Price { nrc_minor: 25_000, mrc_minor: 60_000, usage_per_gb_minor: None };
        let q = price(p, 12, 500, 0);
        assert_eq!(q.monthly_minor, 57_000);
        assert_eq!(q.total_minor, 25_000 + 57_000 * 12);
        assert_eq!(q.lines.len(), 3);
        assert_eq!(q.lines[2].amount_minor, -3_000);
        assert_eq!(q.lines[2].label, "12-month term discount (5%)");
    }

    #[test]
    fn discounts_round_to_whole_minor_units() {
        // 5% of 99.99 = 4.9995 → 5.00
        let q = price(Price { nrc_minor: 0, mrc_minor: 9_999, usage_per_gb_minor: None }, 12, 500, 0);
        assert_eq!(q.monthly_minor, 9_999 - 500);
        // 15% of 0.03 = 0.0045 → 0.00: no discount line at all.
        let q = price(Price { nrc_minor: 0, mrc_minor: 3, usage_per_gb_minor: None }, 36, 1500, 0);
        assert_eq!(q.monthly_minor, 3);
        assert_eq!(q.lines.len(), 2);
    }

    #[test]
    fn usage_is_estimated_only_for_usage_based_prices() {
        let usage = Price { nrc_minor: 10_000, mrc_minor: 5_000, usage_per_gb_minor: Some(2) };
        let q = price(usage, 1, 0, 2_000);
        assert_eq!(q.monthly_minor, 5_000 + 4_000);
        assert!(q.lines.iter().any(|l| l.kind == "usage" && l.amount_minor == 4_000));
        let flat = Price { usage_per_gb_minor: None, ..usage };
        assert_eq!(price(flat, 1, 0, 2_000).monthly_minor, 5_000);
    }

    #[test]
    fn the_version_in_force_is_the_latest_already_effective() {
        let versions = [(1, 100), (2, 200), (3, 300)];
        assert_eq!(in_force(&versions, 250, |v| v.1).map(|v| v.0), Some(2));
        assert_eq!(in_force(&versions, 300, |v| v.1).map(|v| v.0), Some(3));
        assert_eq!(in_force(&versions, 50, |v| v.1), None);
    }

    #[test]
    fn percentages_read_naturally() {
        assert_eq!(bps_percent(500), "5");
        assert_eq!(bps_percent(1250), "12.5");
        assert_eq!(bps_percent(1), "0.01");
    }
}
