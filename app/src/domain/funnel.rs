//! The four-stage funnel (`docs/product.md`, "Dashboards") from daily figures: spend → quiz leads → express
//! sales → flagship sales, with conversions, costs and ROI. A stage with nothing shows 0;
//! a ratio over 0 is `None` (shown as "—"), never an error.

use std::collections::BTreeMap;

use super::date_range::DateRange;
use crate::models::{FunnelDay, FunnelStage, StageKey};

/// What one Almaty day adds to the funnel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayFigures {
    /// Spend in tiyn (hundredths of a tenge).
    pub spend_kzt_minor: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub quiz_leads: i64,
    pub express_sales: i64,
    /// Whole tenge.
    pub express_revenue: i64,
    pub flagship_sales: i64,
    /// Whole tenge.
    pub flagship_revenue: i64,
}

impl DayFigures {
    fn add(&mut self, other: &Self) {
        self.spend_kzt_minor += other.spend_kzt_minor;
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.quiz_leads += other.quiz_leads;
        self.express_sales += other.express_sales;
        self.express_revenue += other.express_revenue;
        self.flagship_sales += other.flagship_sales;
        self.flagship_revenue += other.flagship_revenue;
    }

    fn revenue(&self) -> i64 {
        self.express_revenue + self.flagship_revenue
    }
}

/// The funnel over a range: its stages, totals and every day (days without data are 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Funnel {
    pub stages: Vec<FunnelStage>,
    pub impressions: i64,
    /// Whole tenge.
    pub spend: i64,
    /// Whole tenge.
    pub revenue: i64,
    /// Percent.
    pub roi: Option<f64>,
    pub daily: Vec<FunnelDay>,
}

impl Funnel {
    /// Builds the funnel of `range` from figures keyed by `yyyymmdd`; keys outside the
    /// range are ignored.
    pub fn build(range: DateRange, by_day: &BTreeMap<i64, DayFigures>) -> Self {
        let mut total = DayFigures::default();
        let daily = range
            .days()
            .map(|date| {
                let figures = by_day.get(&crate::time::day_number(date)).copied().unwrap_or_default();
                total.add(&figures);
                FunnelDay {
                    date: date.format("%Y-%m-%d").to_string(),
                    spend: tenge(figures.spend_kzt_minor),
                    clicks: figures.clicks,
                    quiz_leads: figures.quiz_leads,
                    express_sales: figures.express_sales,
                    flagship_sales: figures.flagship_sales,
                    revenue: figures.revenue(),
                }
            })
            .collect();
        let spend = total.spend_kzt_minor;
        let cost_per = |count: i64| cost_per(spend, count);
        let stages = vec![
            FunnelStage {
                key: StageKey::Spend,
                count: total.clicks,
                money: tenge(spend),
                conversion: None,
                cost_per_result: cost_per(total.clicks),
            },
            FunnelStage {
                key: StageKey::QuizLeads,
                count: total.quiz_leads,
                money: 0,
                conversion: percent(total.quiz_leads, total.clicks),
                cost_per_result: cost_per(total.quiz_leads),
            },
            FunnelStage {
                key: StageKey::ExpressSales,
                count: total.express_sales,
                money: total.express_revenue,
                conversion: percent(total.express_sales, total.quiz_leads),
                cost_per_result: cost_per(total.express_sales),
            },
            FunnelStage {
                key: StageKey::FlagshipSales,
                count: total.flagship_sales,
                money: total.flagship_revenue,
                conversion: percent(total.flagship_sales, total.express_sales),
                cost_per_result: cost_per(total.flagship_sales),
            },
        ];
        let roi = (spend > 0).then(|| (total.revenue() as f64 * 100.0 - spend as f64) / spend as f64 * 100.0);
        Self { stages, impressions: total.impressions, spend: tenge(spend), revenue: total.revenue(), roi, daily }
    }
}

/// Whole tenge of spend (in tiyn) per one of `count` results; `None` without results.
pub fn cost_per(spend_minor: i64, count: i64) -> Option<i64> {
    (count > 0).then(|| tenge(divide_rounded(spend_minor, count)))
}

/// Whole tenge from tiyn, rounded half away from zero.
pub fn tenge(minor: i64) -> i64 {
    divide_rounded(minor, 100)
}

fn divide_rounded(value: i64, by: i64) -> i64 {
    let half = by / 2;
    if value >= 0 {
        (value + half) / by
    } else {
        (value - half) / by
    }
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn range() -> DateRange {
        let date = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        DateRange { start: date(20), end: date(22) }
    }

    #[test]
    fn stages_convert_from_the_stage_before_and_roi_counts_both_products() {
        let mut by_day = BTreeMap::new();
        by_day.insert(
            20261120,
            DayFigures {
                spend_kzt_minor: 10_000_000,
                clicks: 400,
                impressions: 9_000,
                quiz_leads: 40,
                ..Default::default()
            },
        );
        by_day.insert(
            20261122,
            DayFigures {
                spend_kzt_minor: 5_000_050,
                clicks: 100,
                quiz_leads: 10,
                express_sales: 4,
                express_revenue: 20_000,
                flagship_sales: 1,
                flagship_revenue: 490_000,
                ..Default::default()
            },
        );
        // Outside the range: ignored.
        by_day.insert(20261123, DayFigures { quiz_leads: 1_000, ..Default::default() });
        let funnel = Funnel::build(range(), &by_day);
        assert_eq!(funnel.spend, 150_001);
        assert_eq!(funnel.revenue, 510_000);
        let counts: Vec<i64> = funnel.stages.iter().map(|stage| stage.count).collect();
        assert_eq!(counts, [500, 50, 4, 1]);
        let conversions: Vec<Option<f64>> = funnel.stages.iter().map(|stage| stage.conversion).collect();
        assert_eq!(conversions, [None, Some(10.0), Some(8.0), Some(25.0)]);
        let costs: Vec<Option<i64>> = funnel.stages.iter().map(|stage| stage.cost_per_result).collect();
        assert_eq!(costs, [Some(300), Some(3_000), Some(37_500), Some(150_001)]);
        let roi = funnel.roi.unwrap();
        assert!((roi - (510_000.0 - 150_000.5) / 150_000.5 * 100.0).abs() < 1e-9, "{roi}");
        assert_eq!(funnel.daily.len(), 3);
        assert_eq!(funnel.daily[1].quiz_leads, 0);
        assert_eq!(funnel.daily[2].revenue, 510_000);
    }

    #[test]
    fn an_empty_funnel_is_zeros_and_no_ratios() {
        let funnel = Funnel::build(range(), &BTreeMap::new());
        assert!(funnel.stages.iter().all(|stage| stage.count == 0 && stage.money == 0));
        assert!(funnel.stages.iter().all(|stage| stage.conversion.is_none() && stage.cost_per_result.is_none()));
        assert_eq!(funnel.roi, None);
    }

    #[test]
    fn tenge_rounds_half_away_from_zero() {
        assert_eq!(tenge(149), 1);
        assert_eq!(tenge(150), 2);
        assert_eq!(tenge(-150), -2);
    }
}
