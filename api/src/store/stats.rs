//! Statistics over a grid subtree, computed by the database with grouped aggregates.
//!
//! Every figure is grouped by the direct child of the root it falls under (the 36 characters of
//! `path` after the root's path: the child's id), so one statement per kind of figure serves the
//! root and every child row of `byChildGrid`. The number of statements does not depend on the
//! size of the subtree.
//!
//! Counts of people and participations come with their cell key (the sum of the counted
//! records' `record_key`, see [`perturb`]), summed by the same statements; distinct people
//! (workers, volunteers) are summed once each through a `DISTINCT` subquery. Incident figures
//! are in [`incident`], computed only when asked for.

mod incident;
mod perturb;

pub use incident::{
    IncidentFigures, IncidentStats, Median, incident_series, incident_stats, top_level_categories,
};
pub use perturb::{Cell, KEY_RANGE, MAX_NOISE, Perturbation};

use crate::error::ApiResult;
use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Figures of one part of a subtree (the whole, or one child's subtree). Counts are exact;
/// perturbation, for the callers who get it, happens when they are shown. Counts of people and
/// participations are [`Cell`]s; grids and services are not personal and are plain counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub residents: Cell,
    pub by_gender: BTreeMap<String, Cell>,
    pub by_age_band: BTreeMap<String, Cell>,
    pub by_tag: BTreeMap<String, Cell>,
    pub grids: i64,
    pub grids_with_worker: i64,
    pub workers: Cell,
    pub services_by_status: BTreeMap<String, i64>,
    pub services_by_category: BTreeMap<String, i64>,
    pub participations: Cell,
    pub volunteers: Cell,
    pub volunteer_minutes: i64,
    pub no_shows: Cell,
    /// Closed participations (completed or no-show), the base of the no-show rate.
    pub attended_or_missed: Cell,
    pub by_organization: BTreeMap<Option<Uuid>, Cell>,
}

/// Age bands, youngest first.
pub const AGE_BANDS: [&str; 5] = ["0-17", "18-34", "35-59", "60-79", "80+"];

/// Statistics of the subtree of `root`: the whole (`None`) and each direct child (`Some(id)`,
/// every direct child, whether or not anything is counted under it).
pub struct SubtreeStats {
    pub parts: BTreeMap<Option<Uuid>, Figures>,
    /// Distinct people over the whole subtree (they do not add up across parts).
    pub total_workers: Cell,
    pub total_volunteers: Cell,
}

fn add_all<K: Ord + Clone, V: Copy + Default + std::ops::AddAssign>(
    to: &mut BTreeMap<K, V>,
    from: &BTreeMap<K, V>,
) {
    for (k, v) in from {
        *to.entry(k.clone()).or_default() += *v;
    }
}

impl SubtreeStats {
    /// The figures of the whole subtree (the sum of its parts).
    pub fn total(&self) -> Figures {
        let mut t = Figures {
            workers: self.total_workers,
            volunteers: self.total_volunteers,
            ..Figures::default()
        };
        for f in self.parts.values() {
            t.residents += f.residents;
            t.grids += f.grids;
            t.grids_with_worker += f.grids_with_worker;
            t.participations += f.participations;
            t.volunteer_minutes += f.volunteer_minutes;
            t.no_shows += f.no_shows;
            t.attended_or_missed += f.attended_or_missed;
            add_all(&mut t.by_gender, &f.by_gender);
            add_all(&mut t.by_age_band, &f.by_age_band);
            add_all(&mut t.by_tag, &f.by_tag);
            add_all(&mut t.services_by_status, &f.services_by_status);
            add_all(&mut t.services_by_category, &f.services_by_category);
            add_all(&mut t.by_organization, &f.by_organization);
        }
        t
    }
}

/// The figure columns every statement selects, in this order; those a statement does not
/// compute are NULL. `*_key` is the sum of the record keys of the records counted next to it.
const FIGURE_COLUMNS: [&str; 7] = ["n", "n_key", "m", "m_key", "o", "o_key", "minutes"];

/// `part, k1, k2` and the figures of `set` (name, expression), the other figures NULL.
fn columns(part: &str, k1: &str, k2: &str, set: &[(&str, &str)]) -> String {
    let mut s = format!("{part} AS part, {k1} AS k1, {k2} AS k2");
    for name in FIGURE_COLUMNS {
        match set.iter().find(|(n, _)| *n == name) {
            Some((_, e)) => s.push_str(&format!(", {e} AS {name}")),
            None => s.push_str(&format!(", CAST(NULL AS BIGINT) AS {name}")),
        }
    }
    s
}

/// A NULL `k1` or `k2`.
const NO_KEY: &str = "CAST(NULL AS TEXT)";

/// One row of a grouped statement (see [`FIGURE_COLUMNS`]; the columns not needed here are
/// not read).
#[derive(FromQueryResult)]
struct Row {
    part: String,
    k1: Option<String>,
    k2: Option<String>,
    n: i64,
    n_key: Option<i64>,
    m: Option<i64>,
}

impl Row {
    fn cell(&self) -> Cell {
        Cell::new(self.n, self.n_key.unwrap_or(0))
    }
}

/// A row whose `k1` is an organisation id.
#[derive(FromQueryResult)]
struct OrgRow {
    part: String,
    k1: Option<Uuid>,
    n: i64,
    n_key: Option<i64>,
    m: Option<i64>,
    m_key: Option<i64>,
    o: Option<i64>,
    o_key: Option<i64>,
    minutes: Option<i64>,
}

fn ph(backend: DbBackend, i: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    }
}

/// `sql` with its `{P}` placeholders numbered in order for the backend.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let mut out = String::with_capacity(sql.len());
    let (mut n, mut rest) = (0, sql);
    while let Some(i) = rest.find("{P}") {
        n += 1;
        out.push_str(&rest[..i]);
        out.push_str(&ph(backend, n));
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Statement::from_sql_and_values(backend, out, values)
}

async fn rows<R: FromQueryResult>(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> ApiResult<Vec<R>> {
    Ok(
        R::find_by_statement(statement(db.get_database_backend(), sql, values))
            .all(db)
            .await?,
    )
}

fn part_of(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

/// Computes every figure of the subtree of `root` (whose path is `root_path`), counting services
/// and participations of services starting in `[from, to)`.
#[tracing::instrument(name = "store.subtree_stats", skip_all)]
pub async fn subtree_stats(
    db: &impl ConnectionTrait,
    root_path: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    today: NaiveDate,
) -> ApiResult<SubtreeStats> {
    let lower = root_path.to_owned();
    let upper = format!("{}0", &root_path[..root_path.len().saturating_sub(1)]);
    let start = i32::try_from(root_path.chars().count() + 1).unwrap_or(i32::MAX);
    // The child of the root a grid lies under ('' for the root itself).
    let part = format!("SUBSTR(g.path, {start}, 36)");
    let in_subtree = "g.path >= {P} AND g.path < {P}";
    let range = || vec![Value::from(lower.clone()), Value::from(upper.clone())];
    let mut parts: BTreeMap<Option<Uuid>, Figures> = BTreeMap::new();

    // Every grid of the subtree, so that every direct child has a part (its own row lies in
    // its subtree) and the list of children does not depend on who lives there; counted: those
    // of level GRID, and those of them with at least one worker.
    let sql = format!(
        "SELECT {} FROM grid g WHERE {in_subtree} GROUP BY 1",
        columns(
            &part,
            NO_KEY,
            NO_KEY,
            &[
                ("n", "SUM(CASE WHEN g.level = 4 THEN 1 ELSE 0 END)"),
                (
                    "m",
                    "SUM(CASE WHEN g.level = 4 AND EXISTS (SELECT 1 FROM grid_assignment a WHERE a.grid_id = g.id) THEN 1 ELSE 0 END)"
                ),
            ]
        )
    );
    for r in rows::<Row>(db, &sql, range()).await? {
        let f = parts.entry(part_of(&r.part)).or_default();
        f.grids += r.n;
        f.grids_with_worker += r.m.unwrap_or(0);
    }

    // People by gender and age band.
    let cut = |years: u32| {
        today
            .checked_sub_months(Months::new(12 * years))
            .unwrap_or(NaiveDate::MIN)
    };
    let band = "CASE WHEN p.birth_date IS NULL THEN NULL WHEN p.birth_date > {P} THEN '0-17' WHEN p.birth_date > {P} THEN '18-34' \
                WHEN p.birth_date > {P} THEN '35-59' WHEN p.birth_date > {P} THEN '60-79' ELSE '80+' END";
    let sql = format!(
        "SELECT {} FROM person p JOIN grid g ON g.id = p.grid_id WHERE {in_subtree} GROUP BY 1, 2, 3",
        columns(
            &part,
            "p.gender",
            band,
            &[("n", "COUNT(*)"), ("n_key", "SUM(p.record_key)")]
        )
    );
    let mut values = vec![
        cut(18).into(),
        cut(35).into(),
        cut(60).into(),
        cut(80).into(),
    ];
    values.extend(range());
    for r in rows::<Row>(db, &sql, values).await? {
        let cell = r.cell();
        let f = parts.entry(part_of(&r.part)).or_default();
        f.residents += cell;
        *f.by_gender
            .entry(r.k1.unwrap_or_else(|| "UNKNOWN".into()))
            .or_default() += cell;
        if let Some(b) = r.k2 {
            *f.by_age_band.entry(b).or_default() += cell;
        }
    }

    // People by tag, each person once per tag.
    let per_person = &[("n", "COUNT(*)"), ("n_key", "SUM(d.record_key)")];
    let sql = format!(
        "SELECT {} FROM (SELECT DISTINCT {part} AS part, t.tag AS tag, p.id AS person_id, p.record_key AS record_key \
         FROM person_tag t JOIN person p ON p.id = t.person_id JOIN grid g ON g.id = p.grid_id WHERE {in_subtree}) d \
         GROUP BY d.part, d.tag",
        columns("d.part", "d.tag", NO_KEY, per_person)
    );
    for r in rows::<Row>(db, &sql, range()).await? {
        let cell = r.cell();
        let f = parts.entry(part_of(&r.part)).or_default();
        *f.by_tag.entry(r.k1.unwrap_or_default()).or_default() += cell;
    }

    // Distinct workers. Distinct counts do not add up across parts: the whole subtree is a row
    // of its own ('*').
    let workers = format!(
        "SELECT DISTINCT {{PART}}a.person_id AS person_id, p.record_key AS record_key FROM grid_assignment a \
         JOIN grid g ON g.id = a.grid_id JOIN person p ON p.id = a.person_id WHERE {in_subtree}"
    );
    let sql = distinct_per_part_and_total(&workers, &part, per_person);
    let mut total_workers = Cell::default();
    for r in rows::<Row>(db, &sql, [range(), range()].concat()).await? {
        if r.part == "*" {
            total_workers = r.cell();
        } else {
            parts.entry(part_of(&r.part)).or_default().workers += r.cell();
        }
    }

    // Services by status and category, in the time window.
    let mut window = String::new();
    let mut window_values = Vec::new();
    if let Some(t) = from {
        window.push_str(" AND s.starts_at >= {P}");
        window_values.push(Value::from(t));
    }
    if let Some(t) = to {
        window.push_str(" AND s.starts_at < {P}");
        window_values.push(Value::from(t));
    }
    let sql = format!(
        "SELECT {} FROM service s JOIN grid g ON g.id = s.grid_id WHERE {in_subtree}{window} GROUP BY 1, 2, 3",
        columns(&part, "s.status", "s.category", &[("n", "COUNT(*)")])
    );
    let mut values = range();
    values.extend(window_values.clone());
    for r in rows::<Row>(db, &sql, values).await? {
        let f = parts.entry(part_of(&r.part)).or_default();
        *f.services_by_status
            .entry(r.k1.unwrap_or_default())
            .or_default() += r.n;
        *f.services_by_category
            .entry(r.k2.unwrap_or_default())
            .or_default() += r.n;
    }

    // Participations (cancelled ones do not count) by registering organisation, with no-shows,
    // closed participations and volunteer minutes.
    let sql = format!(
        "SELECT {} FROM participation x JOIN service s ON s.id = x.service_id JOIN grid g ON g.id = s.grid_id \
         WHERE {in_subtree}{window} AND x.status <> 'CANCELLED' GROUP BY 1, 2",
        columns(
            &part,
            "x.organization_id",
            NO_KEY,
            &[
                ("n", "COUNT(*)"),
                ("n_key", "SUM(x.record_key)"),
                ("m", "SUM(CASE WHEN x.status = 'NO_SHOW' THEN 1 ELSE 0 END)"),
                (
                    "m_key",
                    "SUM(CASE WHEN x.status = 'NO_SHOW' THEN x.record_key ELSE 0 END)"
                ),
                (
                    "o",
                    "SUM(CASE WHEN x.status IN ('COMPLETED', 'NO_SHOW') THEN 1 ELSE 0 END)"
                ),
                (
                    "o_key",
                    "SUM(CASE WHEN x.status IN ('COMPLETED', 'NO_SHOW') THEN x.record_key ELSE 0 END)"
                ),
                (
                    "minutes",
                    "SUM(CASE WHEN x.role = 'VOLUNTEER' THEN COALESCE(x.minutes, 0) ELSE 0 END)"
                ),
            ]
        )
    );
    let mut values = range();
    values.extend(window_values.clone());
    for r in rows::<OrgRow>(db, &sql, values).await? {
        let cell = Cell::new(r.n, r.n_key.unwrap_or(0));
        let f = parts.entry(part_of(&r.part)).or_default();
        f.participations += cell;
        f.no_shows += Cell::new(r.m.unwrap_or(0), r.m_key.unwrap_or(0));
        f.attended_or_missed += Cell::new(r.o.unwrap_or(0), r.o_key.unwrap_or(0));
        f.volunteer_minutes += r.minutes.unwrap_or(0);
        *f.by_organization.entry(r.k1).or_default() += cell;
    }

    // Distinct volunteers, per part and over the whole subtree.
    let volunteers = format!(
        "SELECT DISTINCT {{PART}}x.person_id AS person_id, p.record_key AS record_key FROM participation x \
         JOIN service s ON s.id = x.service_id JOIN grid g ON g.id = s.grid_id JOIN person p ON p.id = x.person_id \
         WHERE {in_subtree}{window} AND x.status <> 'CANCELLED' AND x.role = 'VOLUNTEER'"
    );
    let sql = distinct_per_part_and_total(&volunteers, &part, per_person);
    let mut values = range();
    values.extend(window_values.clone());
    values.extend(range());
    values.extend(window_values);
    let mut total_volunteers = Cell::default();
    for r in rows::<Row>(db, &sql, values).await? {
        if r.part == "*" {
            total_volunteers = r.cell();
        } else {
            parts.entry(part_of(&r.part)).or_default().volunteers += r.cell();
        }
    }
    Ok(SubtreeStats {
        parts,
        total_workers,
        total_volunteers,
    })
}

/// A statement counting the distinct people (and summing their keys once each) that `people`
/// selects, per part and over the whole subtree (part `'*'`). `people` is a `SELECT DISTINCT`
/// whose `{PART}` becomes the part column in the first branch and nothing in the second.
fn distinct_per_part_and_total(people: &str, part: &str, figures: &[(&str, &str)]) -> String {
    let per_part = people.replace("{PART}", &format!("{part} AS part, "));
    let whole = people.replace("{PART}", "");
    format!(
        "SELECT {} FROM ({per_part}) d GROUP BY d.part UNION ALL SELECT {} FROM ({whole}) d",
        columns("d.part", NO_KEY, NO_KEY, figures),
        columns("'*'", NO_KEY, NO_KEY, figures),
    )
}

/// Length of the buckets of a time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

/// Bucket starts from the one containing `from` up to `to`, at local midnight in `tz` (weeks
/// start on Monday, months on the 1st), as UTC instants; the last element is the end of the
/// last bucket.
pub fn bucket_bounds(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
    tz: chrono_tz::Tz,
    max_buckets: usize,
) -> Option<Vec<DateTime<Utc>>> {
    use chrono::{Datelike, Days, TimeZone};
    let local_day = from.with_timezone(&tz).date_naive();
    let mut day = match interval {
        Interval::Day => local_day,
        Interval::Week => {
            local_day - Days::new(u64::from(local_day.weekday().num_days_from_monday()))
        }
        Interval::Month => local_day.with_day(1)?,
    };
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut bounds = vec![midnight(day)?];
    while *bounds.last()? < to {
        day = match interval {
            Interval::Day => day.checked_add_days(Days::new(1))?,
            Interval::Week => day.checked_add_days(Days::new(7))?,
            Interval::Month => day.checked_add_months(Months::new(1))?,
        };
        bounds.push(midnight(day)?);
        if bounds.len() > max_buckets + 1 {
            return None;
        }
    }
    Some(bounds)
}

/// Service and participation figures of one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketFigures {
    pub services: i64,
    pub participations: Cell,
    pub volunteer_minutes: i64,
}

/// Figures per bucket of `bounds` (see [`bucket_bounds`]) over the subtree at `root_path`, by the
/// services' start times; empty buckets included.
#[tracing::instrument(name = "store.stats_series", skip_all, fields(buckets = bounds.len()))]
pub async fn series(
    db: &impl ConnectionTrait,
    root_path: &str,
    bounds: &[DateTime<Utc>],
) -> ApiResult<Vec<BucketFigures>> {
    let buckets = bounds.len().saturating_sub(1);
    let mut out = vec![BucketFigures::default(); buckets];
    if buckets == 0 {
        return Ok(out);
    }
    let lower = root_path.to_owned();
    let upper = format!("{}0", &root_path[..root_path.len().saturating_sub(1)]);
    // The bucket of a start time: a CASE over the bucket ends (portable; no time zone maths in SQL).
    let mut case = String::from("CASE");
    for i in 0..buckets {
        case.push_str(&format!(" WHEN s.starts_at < {{P}} THEN '{i}'"));
    }
    case.push_str(" END");
    let ends: Vec<Value> = bounds[1..].iter().map(|t| Value::from(*t)).collect();
    let window = "s.starts_at >= {P} AND s.starts_at < {P}";
    let sql = format!(
        "SELECT {} FROM service s JOIN grid g ON g.id = s.grid_id WHERE g.path >= {{P}} AND g.path < {{P}} AND {window} GROUP BY 1",
        columns(&case, NO_KEY, NO_KEY, &[("n", "COUNT(*)")])
    );
    let mut values = ends.clone();
    values.extend([
        Value::from(lower.clone()),
        Value::from(upper.clone()),
        Value::from(bounds[0]),
        Value::from(bounds[buckets]),
    ]);
    for r in rows::<Row>(db, &sql, values).await? {
        if let Some(b) = r.part.parse::<usize>().ok().and_then(|i| out.get_mut(i)) {
            b.services += r.n;
        }
    }
    let sql = format!(
        "SELECT {} FROM participation x JOIN service s ON s.id = x.service_id JOIN grid g ON g.id = s.grid_id \
         WHERE g.path >= {{P}} AND g.path < {{P}} AND {window} AND x.status <> 'CANCELLED' GROUP BY 1",
        columns(
            &case,
            NO_KEY,
            NO_KEY,
            &[
                ("n", "COUNT(*)"),
                ("n_key", "SUM(x.record_key)"),
                (
                    "m",
                    "SUM(CASE WHEN x.role = 'VOLUNTEER' THEN COALESCE(x.minutes, 0) ELSE 0 END)"
                ),
            ]
        )
    );
    let mut values = ends;
    values.extend([
        Value::from(lower),
        Value::from(upper),
        Value::from(bounds[0]),
        Value::from(bounds[buckets]),
    ]);
    for r in rows::<Row>(db, &sql, values).await? {
        if let Some(b) = r.part.parse::<usize>().ok().and_then(|i| out.get_mut(i)) {
            b.participations += r.cell();
            b.volunteer_minutes += r.m.unwrap_or(0);
        }
    }
    Ok(out)
}
