//! Alerts that catch silent outages, decided from a snapshot of the system at one moment:
//! a source without leads for longer than usual during working hours, an integration paused
//! or degraded for too long, too many failed jobs, a queue that is behind, a team paying for
//! ads without a lead by midday. Free of I/O: the watcher reads the snapshot and acts on
//! what this module finds.

use chrono::{NaiveTime, TimeZone, Timelike};
use chrono_tz::Asia::Almaty;

use crate::time::{almaty_date, almaty_day_start_ms};

const MINUTE_MS: i64 = 60_000;
/// A source is learnt from its leads of this many days.
pub const LEARNING_DAYS: i64 = 14;
/// A learnt source is quiet after this many of its usual gaps between leads…
const USUAL_GAPS: i64 = 6;
/// …but never sooner than this…
const QUIET_AT_LEAST_MINUTES: i64 = 30;
/// …nor later than this.
const QUIET_AT_MOST_MINUTES: i64 = 6 * 60;
/// Fewer leads than this in the learning window teach nothing: such a source is watched
/// only when configured.
const LEARNING_MIN_LEADS: i64 = 20;

/// Almaty's working hours, `[start, end)` in whole hours: `ALERT_WORK_HOURS=9-21`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkHours {
    pub start: u32,
    pub end: u32,
}

impl Default for WorkHours {
    fn default() -> Self {
        Self { start: 9, end: 21 }
    }
}

impl WorkHours {
    /// `9-21`.
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.trim().split_once('-')?;
        let (start, end) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
        (start < end && end <= 24).then_some(Self { start, end })
    }

    /// Whether `at` (UTC ms) is inside the hours, Almaty time.
    pub fn contains(self, at: i64) -> bool {
        let hour = chrono::DateTime::from_timestamp_millis(at).map_or(0, |at| at.with_timezone(&Almaty).hour());
        (self.start..self.end).contains(&hour)
    }

    /// Minutes of working time per day.
    fn minutes_per_day(self) -> i64 {
        i64::from(self.end - self.start) * 60
    }

    /// The working milliseconds between `from` and `to` (UTC ms).
    pub fn working_ms_between(self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let (mut day, last) = (almaty_date(from), almaty_date(to));
        let mut total = 0;
        while day <= last {
            let start = almaty_day_start_ms(day) + i64::from(self.start) * 3_600_000;
            let end = almaty_day_start_ms(day) + i64::from(self.end) * 3_600_000;
            total += (end.min(to) - start.max(from)).max(0);
            day = day.succ_opt().expect("a next day");
        }
        total
    }
}

/// A source's leads, as the watcher counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceActivity {
    pub source: String,
    /// Its leads in the last [`LEARNING_DAYS`] days.
    pub leads_in_window: i64,
    /// Its newest lead, UTC ms.
    pub last_lead_at: i64,
}

/// How long `source` may stay quiet during working hours: as configured (0 switches it
/// off), else [`USUAL_GAPS`] of its usual gap between leads, kept within 30 minutes and
/// 6 hours; `None` when it is not watched.
pub fn quiet_limit_minutes(activity: &SourceActivity, configured: Option<i64>, hours: WorkHours) -> Option<i64> {
    if let Some(minutes) = configured {
        return (minutes > 0).then_some(minutes);
    }
    if activity.leads_in_window < LEARNING_MIN_LEADS {
        return None;
    }
    let usual_gap = LEARNING_DAYS * hours.minutes_per_day() / activity.leads_in_window;
    Some((USUAL_GAPS * usual_gap).clamp(QUIET_AT_LEAST_MINUTES, QUIET_AT_MOST_MINUTES))
}

/// An integration as the watcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationActivity {
    pub name: String,
    pub title: String,
    /// Since when it has been paused, if it is.
    pub paused_at: Option<i64>,
    /// Since when it has been failing, if its last call failed: its last success, else its
    /// first error we know of.
    pub degraded_since: Option<i64>,
}

/// Everything the rules look at, read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub now: i64,
    pub sources: Vec<SourceActivity>,
    pub integrations: Vec<IntegrationActivity>,
    pub failed_jobs: i64,
    /// The run time of the oldest job that is due and could run (not waiting for a paused
    /// integration or a missing configuration).
    pub oldest_due_at: Option<i64>,
    /// Teams with ad spend today and no lead today.
    pub spending_without_leads: Vec<String>,
}

/// The thresholds (`ALERT_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    pub hours: WorkHours,
    /// Per-source quiet limits in minutes (0: not watched).
    pub quiet_sources: Vec<(String, i64)>,
    pub integration_minutes: i64,
    pub failed_jobs: i64,
    pub queue_lag_minutes: i64,
    /// The Almaty hour by which a team with spend should have a lead.
    pub no_lead_hour: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            hours: WorkHours::default(),
            quiet_sources: Vec::new(),
            integration_minutes: 15,
            failed_jobs: 10,
            queue_lag_minutes: 10,
            no_lead_hour: 13,
        }
    }
}

/// Something wrong now: its stable key (one open incident per key), what it is, and the
/// figures behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `quiet:proftest`, `integration:amocrm`, `failed_jobs`, `queue_lag`, `no_lead:Kenesary`.
    pub key: String,
    /// What is wrong, in Russian.
    pub title: String,
    /// The figures, in Russian.
    pub detail: String,
}

/// What is wrong in `snapshot`.
pub fn conditions(snapshot: &Snapshot, thresholds: &Thresholds) -> Vec<Condition> {
    let now = snapshot.now;
    let mut found = Vec::new();
    if thresholds.hours.contains(now) {
        for activity in &snapshot.sources {
            let configured = thresholds
                .quiet_sources
                .iter()
                .find(|(source, _)| *source == activity.source)
                .map(|(_, minutes)| *minutes);
            let Some(limit) = quiet_limit_minutes(activity, configured, thresholds.hours) else { continue };
            let quiet = thresholds.hours.working_ms_between(activity.last_lead_at, now) / MINUTE_MS;
            if quiet >= limit {
                found.push(Condition {
                    key: format!("quiet:{}", activity.source),
                    title: format!("Нет лидов из «{}»", activity.source),
                    detail: format!("{quiet} мин рабочего времени без лидов (порог {limit} мин)"),
                });
            }
        }
    }
    for integration in &snapshot.integrations {
        let (state, since) = match (integration.paused_at, integration.degraded_since) {
            (Some(since), _) => ("приостановлена", since),
            (None, Some(since)) => ("работает с ошибками", since),
            (None, None) => continue,
        };
        let minutes = (now - since) / MINUTE_MS;
        if minutes >= thresholds.integration_minutes {
            found.push(Condition {
                key: format!("integration:{}", integration.name),
                title: format!("{} {state}", integration.title),
                detail: format!("уже {minutes} мин"),
            });
        }
    }
    if thresholds.failed_jobs > 0 && snapshot.failed_jobs >= thresholds.failed_jobs {
        found.push(Condition {
            key: "failed_jobs".to_owned(),
            title: "Много задач с ошибкой".to_owned(),
            detail: format!("{} задач ждут разбора (порог {})", snapshot.failed_jobs, thresholds.failed_jobs),
        });
    }
    if let Some(oldest) = snapshot.oldest_due_at {
        let minutes = (now - oldest) / MINUTE_MS;
        if minutes >= thresholds.queue_lag_minutes {
            found.push(Condition {
                key: "queue_lag".to_owned(),
                title: "Очередь задач отстаёт".to_owned(),
                detail: format!("старейшая задача ждёт {minutes} мин (порог {} мин)", thresholds.queue_lag_minutes),
            });
        }
    }
    if hour_of(now) >= thresholds.no_lead_hour {
        for team in &snapshot.spending_without_leads {
            found.push(Condition {
                key: format!("no_lead:{team}"),
                title: format!("{team}: реклама идёт, лидов нет"),
                detail: format!("сегодня есть расход и ни одного лида к {}:00", thresholds.no_lead_hour),
            });
        }
    }
    found
}

/// The Almaty hour of `at`.
fn hour_of(at: i64) -> u32 {
    chrono::DateTime::from_timestamp_millis(at).map_or(0, |at| at.with_timezone(&Almaty).hour())
}

/// The UTC ms of `hour`:`minute` Almaty time on the Almaty day of `at`.
pub fn almaty_time_on_day_of(at: i64, hour: u32, minute: u32) -> i64 {
    let time = NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time");
    Almaty
        .from_local_datetime(&almaty_date(at).and_time(time))
        .earliest()
        .expect("Almaty has no gaps")
        .timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 24 * 3_600_000;

    fn noon() -> i64 {
        almaty_time_on_day_of(1_796_174_635_000, 12, 0)
    }

    fn busy(source: &str, last_lead_at: i64) -> SourceActivity {
        // A lead every 5 working minutes over the window.
        SourceActivity { source: source.to_owned(), leads_in_window: LEARNING_DAYS * 720 / 5, last_lead_at }
    }

    #[test]
    fn working_time_is_counted_inside_the_hours_only() {
        let hours = WorkHours::default();
        let evening = almaty_time_on_day_of(noon(), 20, 0);
        let next_morning = almaty_time_on_day_of(noon() + DAY_MS, 9, 30);
        assert_eq!(hours.working_ms_between(evening, next_morning), 90 * MINUTE_MS);
        assert_eq!(hours.working_ms_between(noon(), noon() + 3 * DAY_MS), 3 * 12 * 60 * MINUTE_MS);
        assert_eq!(WorkHours::parse("8-20"), Some(WorkHours { start: 8, end: 20 }));
        assert_eq!(WorkHours::parse("20-8"), None);
        assert!(hours.contains(noon()) && !hours.contains(almaty_time_on_day_of(noon(), 22, 0)));
    }

    #[test]
    fn a_source_is_quiet_after_six_of_its_usual_gaps_within_bounds() {
        let hours = WorkHours::default();
        assert_eq!(quiet_limit_minutes(&busy("proftest", 0), None, hours), Some(30));
        let slow = SourceActivity { leads_in_window: 28, ..busy("express", 0) };
        assert_eq!(quiet_limit_minutes(&slow, None, hours), Some(360), "a lead every 6 h: capped at 6 h");
        let rare = SourceActivity { leads_in_window: 5, ..busy("rare", 0) };
        assert_eq!(quiet_limit_minutes(&rare, None, hours), None, "too few leads to learn from");
        assert_eq!(quiet_limit_minutes(&rare, Some(45), hours), Some(45));
        assert_eq!(quiet_limit_minutes(&busy("proftest", 0), Some(0), hours), None, "switched off");
    }

    #[test]
    fn a_quiet_source_is_found_in_working_hours_only() {
        let thresholds = Thresholds::default();
        let quiet =
            Snapshot { now: noon(), sources: vec![busy("proftest", noon() - 45 * MINUTE_MS)], ..Snapshot::default() };
        let found = conditions(&quiet, &thresholds);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "quiet:proftest");
        assert!(found[0].detail.starts_with("45 мин"), "{}", found[0].detail);
        let lively = Snapshot { sources: vec![busy("proftest", noon() - 10 * MINUTE_MS)], ..quiet.clone() };
        assert!(conditions(&lively, &thresholds).is_empty());
        let night = almaty_time_on_day_of(noon(), 23, 0);
        let at_night = Snapshot { now: night, sources: vec![busy("proftest", night - 5 * 3_600_000)], ..quiet };
        assert!(conditions(&at_night, &thresholds).is_empty(), "nights are not watched");
    }

    #[test]
    fn integrations_jobs_the_queue_and_silent_spend_have_their_thresholds() {
        let thresholds = Thresholds::default();
        let now = noon() + 2 * 3_600_000;
        let snapshot = Snapshot {
            now,
            integrations: vec![
                IntegrationActivity {
                    name: "amocrm".into(),
                    title: "AmoCRM".into(),
                    paused_at: Some(now - 20 * MINUTE_MS),
                    degraded_since: None,
                },
                IntegrationActivity {
                    name: "resend".into(),
                    title: "Resend".into(),
                    paused_at: None,
                    degraded_since: Some(now - 5 * MINUTE_MS),
                },
            ],
            failed_jobs: 10,
            oldest_due_at: Some(now - 11 * MINUTE_MS),
            spending_without_leads: vec!["Kenesary".into()],
            ..Snapshot::default()
        };
        let keys: Vec<String> = conditions(&snapshot, &thresholds).into_iter().map(|found| found.key).collect();
        assert_eq!(keys, ["integration:amocrm", "failed_jobs", "queue_lag", "no_lead:Kenesary"]);
        let morning = Snapshot {
            now: almaty_time_on_day_of(now, 11, 0),
            integrations: Vec::new(),
            failed_jobs: 9,
            oldest_due_at: None,
            ..snapshot
        };
        assert!(conditions(&morning, &thresholds).is_empty(), "before 13:00 a team without leads is not yet an alert");
    }
}
