//! `GridStats.incidents` and `StatsBucket.incidents`: incident figures of a subtree, of each
//! child grid and of each bucket of a series (`store::stats::incident_stats`).
//!
//! Every count of incidents is a count about people (their reporters), so AGENCY callers get
//! each through cell-key perturbation, like residents and participations. Rates are of the
//! counts as shown (as `noShowRate`); medians and the mean satisfaction, which no count can
//! stand for, are shown to AGENCY callers only over at least `GRIDGOV_STATS_MIN_COUNT`
//! incidents, and coarsened.

use super::{Disclosure, StatCount, rate};
use crate::schema::incident::{IncidentCategory, IncidentSeverity, IncidentSource, IncidentStatus};
use crate::store::stats::{Cell, IncidentFigures, Median};
use async_graphql::{Object, SimpleObject};
use entity::incident_category;
use sea_orm::{ActiveEnum, Iterable};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Incidents in one status.
#[derive(SimpleObject, Clone)]
pub struct IncidentStatusCount {
    /// The status.
    pub status: IncidentStatus,
    /// Incidents reported in the window that are in this status now; perturbed for AGENCY
    /// callers.
    pub count: StatCount,
}

/// Incidents of one top-level category.
#[derive(SimpleObject, Clone)]
pub struct IncidentCategoryCount {
    /// Code of the top-level category, e.g. `CITY`.
    pub code: String,
    /// The top-level category; null only if the code names no top-level category any more.
    pub category: Option<IncidentCategory>,
    /// Incidents reported in the window in this category or one of its sub-categories;
    /// perturbed for AGENCY callers.
    pub count: StatCount,
}

/// Incidents of one severity.
#[derive(SimpleObject, Clone)]
pub struct IncidentSeverityCount {
    /// The severity.
    pub severity: IncidentSeverity,
    /// Incidents reported in the window with this severity; perturbed for AGENCY callers.
    pub count: StatCount,
}

/// Incidents reported through one channel.
#[derive(SimpleObject, Clone)]
pub struct IncidentSourceCount {
    /// The channel.
    pub source: IncidentSource,
    /// Incidents reported in the window through this channel; perturbed for AGENCY callers.
    pub count: StatCount,
}

impl Disclosure {
    /// The smallest number of records an AGENCY caller may see a median or a mean of.
    fn smallest_group(self) -> Option<i64> {
        self.perturbation.map(|p| p.min_count())
    }

    /// A median of hours: to the hundredth; for perturbed callers to the hour, and null when it
    /// is the median of fewer than `k` durations.
    fn median_hours(self, m: Median) -> Option<f64> {
        let hours = m.hours?;
        match self.smallest_group() {
            None => Some((hours * 100.0).round() / 100.0),
            Some(k) if m.of < k => None,
            Some(_) => Some(hours.round()),
        }
    }

    /// `sum / of`: to the hundredth; for perturbed callers to the tenth, and null when it is
    /// the mean of fewer than `k` values.
    fn mean(self, sum: i64, of: i64) -> Option<f64> {
        if of == 0 {
            return None;
        }
        let mean = sum as f64 / of as f64;
        match self.smallest_group() {
            None => Some((mean * 100.0).round() / 100.0),
            Some(k) if of < k => None,
            Some(_) => Some((mean * 10.0).round() / 10.0),
        }
    }

    /// `part / whole` of the counts as shown, at most 1.
    fn share(self, part: Cell, whole: Cell) -> Option<f64> {
        let whole = self.value(whole);
        rate(std::cmp::min(self.value(part), whole), whole)
    }
}

/// Incident figures of a subtree, a child grid or a bucket.
#[derive(Clone)]
pub struct IncidentStats {
    pub(super) figures: IncidentFigures,
    pub(super) categories: Arc<[incident_category::Model]>,
    pub(super) disclosure: Disclosure,
}

/// Every value of `E` with its count in `map` (0 when absent), in the order of the domain.
fn every<E: ActiveEnum<Value = String> + Iterable + Copy>(
    map: &BTreeMap<String, Cell>,
) -> Vec<(E, Cell)> {
    E::iter()
        .map(|e| (e, map.get(&e.to_value()).copied().unwrap_or_default()))
        .collect()
}

/// Incidents placed in the grids of a subtree (by the grid they are in, `Incident.grid`) and
/// reported (`reportedAt`) in the statistics' window, or all of them when it has none. Counts
/// are perturbed for AGENCY callers; see `docs/statistics.md`.
#[Object]
impl IncidentStats {
    /// Incidents reported in the window.
    async fn count(&self) -> StatCount {
        self.disclosure.personal(self.figures.count)
    }
    /// Incidents reported in the window by the status they are in now, every status listed.
    async fn by_status(&self) -> Vec<IncidentStatusCount> {
        every::<entity::IncidentStatus>(&self.figures.by_status)
            .into_iter()
            .map(|(s, c)| IncidentStatusCount {
                status: s.into(),
                count: self.disclosure.personal(c),
            })
            .collect()
    }
    /// Incidents reported in the window by top-level category: an incident of a sub-category
    /// counts under its parent's code (`CITY_STREETLIGHT` under `CITY`). Every top-level
    /// category is listed, by code.
    async fn by_category(&self) -> Vec<IncidentCategoryCount> {
        let by_code = &self.figures.by_category;
        let mut out: Vec<IncidentCategoryCount> = self
            .categories
            .iter()
            .map(|c| IncidentCategoryCount {
                code: c.code.clone(),
                category: Some(IncidentCategory(c.clone())),
                count: self
                    .disclosure
                    .personal(by_code.get(&c.code).copied().unwrap_or_default()),
            })
            .collect();
        // A category nested deeper than two levels counts under a code that is no top-level
        // one; it is listed after the others rather than lost.
        for (code, c) in by_code {
            if !self.categories.iter().any(|t| &t.code == code) {
                out.push(IncidentCategoryCount {
                    code: code.clone(),
                    category: None,
                    count: self.disclosure.personal(*c),
                });
            }
        }
        out
    }
    /// Incidents reported in the window by severity, every severity listed.
    async fn by_severity(&self) -> Vec<IncidentSeverityCount> {
        every::<entity::IncidentSeverity>(&self.figures.by_severity)
            .into_iter()
            .map(|(s, c)| IncidentSeverityCount {
                severity: s.into(),
                count: self.disclosure.personal(c),
            })
            .collect()
    }
    /// Incidents reported in the window by channel, every channel listed.
    async fn by_source(&self) -> Vec<IncidentSourceCount> {
        every::<entity::IncidentSource>(&self.figures.by_source)
            .into_iter()
            .map(|(s, c)| IncidentSourceCount {
                source: s.into(),
                count: self.disclosure.personal(c),
            })
            .collect()
    }
    /// Closure rate (办结率): CLOSED ÷ every incident but the REJECTED ones; for AGENCY callers
    /// of the two counts as shown (each its own cell), at most 1. Null when the base is 0.
    async fn closure_rate(&self) -> Option<f64> {
        let f = &self.figures;
        self.disclosure.share(f.closed(), f.not_rejected)
    }
    /// On-time rate (按时办结率): CLOSED incidents closed by their deadline (`closedAt ≤
    /// dueAt`) ÷ CLOSED; for AGENCY callers of the counts as shown, at most 1. Null when none
    /// is closed.
    async fn on_time_rate(&self) -> Option<f64> {
        let f = &self.figures;
        self.disclosure.share(f.closed_on_time, f.closed())
    }
    /// Median hours from report to acceptance (`acceptedAt − reportedAt`) over the incidents
    /// accepted (those with an `acceptedAt`), to the hundredth. For AGENCY callers to the hour,
    /// and null over fewer than `GRIDGOV_STATS_MIN_COUNT` incidents. Null when none.
    async fn median_hours_to_accept(&self) -> Option<f64> {
        self.disclosure.median_hours(self.figures.to_accept)
    }
    /// Median hours from report to closure (`closedAt − reportedAt`) over the CLOSED incidents,
    /// to the hundredth. For AGENCY callers to the hour, and null over fewer than
    /// `GRIDGOV_STATS_MIN_COUNT` incidents. Null when none.
    async fn median_hours_to_close(&self) -> Option<f64> {
        self.disclosure.median_hours(self.figures.to_close)
    }
    /// Incidents overdue now (`Incident.overdue`): neither CLOSED nor REJECTED, and past their
    /// closing deadline, or REPORTED or ESCALATED past their acceptance deadline.
    async fn overdue(&self) -> StatCount {
        self.disclosure.personal(self.figures.overdue)
    }
    /// Escalations to a parent grid (吹哨) of these incidents, the sum of
    /// `Incident.escalations`; for AGENCY callers perturbed, each escalation counted as a record
    /// of its incident.
    async fn escalations(&self) -> StatCount {
        self.disclosure.personal(self.figures.escalations)
    }
    /// Mean satisfaction (1–5) over the rated incidents, to the hundredth. For AGENCY callers
    /// to the tenth, and null over fewer than `GRIDGOV_STATS_MIN_COUNT` ratings. Null when
    /// none is rated.
    async fn mean_satisfaction(&self) -> Option<f64> {
        let f = &self.figures;
        self.disclosure.mean(f.satisfaction_sum, f.rated.count)
    }
}
