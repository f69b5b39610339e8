//! Statistics over a grid subtree, computed by the database with grouped aggregates.
//!
//! Every figure is grouped by the direct child of the root it falls under (the 36 characters of
//! `path` after the root's path: the child's id), so one statement per kind of figure serves the
//! root and every child row of `byChildGrid`. The number of statements does not depend on the
//! size of the subtree.

use crate::error::ApiResult;
use chrono::{DateTime, Months, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Figures of one part of a subtree (the whole, or one child's subtree). Counts are exact; the
/// suppression of small numbers happens when they are shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub residents: i64,
    pub by_gender: BTreeMap<String, i64>,
    pub by_age_band: BTreeMap<String, i64>,
    pub by_tag: BTreeMap<String, i64>,
    pub grids: i64,
    pub grids_with_worker: i64,
    pub workers: i64,
    pub services_by_status: BTreeMap<String, i64>,
    pub services_by_category: BTreeMap<String, i64>,
    pub participations: i64,
    pub volunteers: i64,
    pub volunteer_minutes: i64,
    pub no_shows: i64,
    /// Closed participations (completed or no-show), the base of the no-show rate.
    pub attended_or_missed: i64,
    pub by_organization: BTreeMap<Option<Uuid>, i64>,
}

/// Age bands, youngest first.
pub const AGE_BANDS: [&str; 5] = ["0-17", "18-34", "35-59", "60-79", "80+"];

/// Statistics of the subtree of `root`: the whole (`None`) and each direct child (`Some(id)`).
pub struct SubtreeStats {
    pub parts: BTreeMap<Option<Uuid>, Figures>,
    /// Distinct people over the whole subtree (they do not add up across parts).
    pub total_workers: i64,
    pub total_volunteers: i64,
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
            for (k, v) in &f.by_gender {
                *t.by_gender.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &f.by_age_band {
                *t.by_age_band.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &f.by_tag {
                *t.by_tag.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &f.services_by_status {
                *t.services_by_status.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &f.services_by_category {
                *t.services_by_category.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &f.by_organization {
                *t.by_organization.entry(*k).or_default() += v;
            }
        }
        t
    }
}

#[derive(FromQueryResult)]
struct Row {
    part: String,
    k1: Option<String>,
    k2: Option<String>,
    n: i64,
    m: Option<i64>,
    o: Option<i64>,
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

async fn rows(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> ApiResult<Vec<Row>> {
    Ok(
        Row::find_by_statement(statement(db.get_database_backend(), sql, values))
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

    // People by gender and age band.
    let cut = |years: u32| {
        today
            .checked_sub_months(Months::new(12 * years))
            .unwrap_or(NaiveDate::MIN)
    };
    let band = "CASE WHEN p.birth_date IS NULL THEN NULL WHEN p.birth_date > {P} THEN '0-17' WHEN p.birth_date > {P} THEN '18-34' \
                WHEN p.birth_date > {P} THEN '35-59' WHEN p.birth_date > {P} THEN '60-79' ELSE '80+' END";
    let sql = format!(
        "SELECT {part} AS part, p.gender AS k1, {band} AS k2, COUNT(*) AS n, CAST(NULL AS BIGINT) AS m, CAST(NULL AS BIGINT) AS o \
         FROM person p JOIN grid g ON g.id = p.grid_id WHERE {in_subtree} GROUP BY 1, 2, 3"
    );
    let mut values = vec![
        cut(18).into(),
        cut(35).into(),
        cut(60).into(),
        cut(80).into(),
    ];
    values.extend(range());
    for r in rows(db, &sql, values).await? {
        let f = parts.entry(part_of(&r.part)).or_default();
        f.residents += r.n;
        *f.by_gender
            .entry(r.k1.unwrap_or_else(|| "UNKNOWN".into()))
            .or_default() += r.n;
        if let Some(b) = r.k2 {
            *f.by_age_band.entry(b).or_default() += r.n;
        }
    }

    // People by tag.
    let sql = format!(
        "SELECT {part} AS part, t.tag AS k1, CAST(NULL AS TEXT) AS k2, COUNT(DISTINCT t.person_id) AS n, CAST(NULL AS BIGINT) AS m, CAST(NULL AS BIGINT) AS o \
         FROM person_tag t JOIN person p ON p.id = t.person_id JOIN grid g ON g.id = p.grid_id \
         WHERE {in_subtree} GROUP BY 1, 2"
    );
    for r in rows(db, &sql, range()).await? {
        let f = parts.entry(part_of(&r.part)).or_default();
        *f.by_tag.entry(r.k1.unwrap_or_default()).or_default() += r.n;
    }

    // Coverage: grids (level GRID), those with at least one worker, and distinct workers.
    let sql = format!(
        "SELECT {part} AS part, CAST(NULL AS TEXT) AS k1, CAST(NULL AS TEXT) AS k2, COUNT(*) AS n, \
         SUM(CASE WHEN EXISTS (SELECT 1 FROM grid_assignment a WHERE a.grid_id = g.id) THEN 1 ELSE 0 END) AS m, \
         CAST(NULL AS BIGINT) AS o \
         FROM grid g WHERE {in_subtree} AND g.level = 4 GROUP BY 1"
    );
    for r in rows(db, &sql, range()).await? {
        let f = parts.entry(part_of(&r.part)).or_default();
        f.grids += r.n;
        f.grids_with_worker += r.m.unwrap_or(0);
    }
    // Distinct counts do not add up across parts: the whole subtree is a row of its own ('*').
    let workers = "COUNT(DISTINCT a.person_id) AS n, CAST(NULL AS BIGINT) AS m, CAST(NULL AS BIGINT) AS o \
                   FROM grid_assignment a JOIN grid g ON g.id = a.grid_id";
    let sql = format!(
        "SELECT {part} AS part, CAST(NULL AS TEXT) AS k1, CAST(NULL AS TEXT) AS k2, {workers} WHERE {in_subtree} GROUP BY 1 \
         UNION ALL SELECT '*', CAST(NULL AS TEXT), CAST(NULL AS TEXT), {workers} WHERE {in_subtree}"
    );
    let mut total_workers = 0;
    for r in rows(db, &sql, [range(), range()].concat()).await? {
        if r.part == "*" {
            total_workers = r.n;
        } else {
            parts.entry(part_of(&r.part)).or_default().workers += r.n;
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
        "SELECT {part} AS part, s.status AS k1, s.category AS k2, COUNT(*) AS n, CAST(NULL AS BIGINT) AS m, CAST(NULL AS BIGINT) AS o \
         FROM service s JOIN grid g ON g.id = s.grid_id WHERE {in_subtree}{window} GROUP BY 1, 2, 3"
    );
    let mut values = range();
    values.extend(window_values.clone());
    for r in rows(db, &sql, values).await? {
        let f = parts.entry(part_of(&r.part)).or_default();
        *f.services_by_status
            .entry(r.k1.unwrap_or_default())
            .or_default() += r.n;
        *f.services_by_category
            .entry(r.k2.unwrap_or_default())
            .or_default() += r.n;
    }

    // Participation by registering organisation (cancelled ones do not count).
    let sql = format!(
        "SELECT {part} AS part, x.organization_id AS k1, CAST(NULL AS TEXT) AS k2, COUNT(*) AS n, \
         SUM(CASE WHEN x.role = 'VOLUNTEER' THEN COALESCE(x.minutes, 0) ELSE 0 END) AS m \
         FROM participation x JOIN service s ON s.id = x.service_id JOIN grid g ON g.id = s.grid_id \
         WHERE {in_subtree}{window} AND x.status <> 'CANCELLED' GROUP BY 1, 2"
    );
    let mut values = range();
    values.extend(window_values.clone());
    for r in rows_uuid_k1(db, &sql, values).await? {
        let f = parts.entry(part_of(&r.0)).or_default();
        f.participations += r.2;
        f.volunteer_minutes += r.3;
        *f.by_organization.entry(r.1).or_default() += r.2;
    }
    // Distinct volunteers, no-shows and closed participations.
    let figures = format!(
        "COUNT(DISTINCT CASE WHEN x.role = 'VOLUNTEER' THEN x.person_id END) AS n, \
         SUM(CASE WHEN x.status = 'NO_SHOW' THEN 1 ELSE 0 END) AS m, \
         SUM(CASE WHEN x.status IN ('COMPLETED', 'NO_SHOW') THEN 1 ELSE 0 END) AS o \
         FROM participation x JOIN service s ON s.id = x.service_id JOIN grid g ON g.id = s.grid_id \
         WHERE {in_subtree}{window} AND x.status <> 'CANCELLED'"
    );
    let sql = format!(
        "SELECT {part} AS part, CAST(NULL AS TEXT) AS k1, CAST(NULL AS TEXT) AS k2, {figures} GROUP BY 1 \
         UNION ALL SELECT '*', CAST(NULL AS TEXT), CAST(NULL AS TEXT), {figures}"
    );
    let mut values = range();
    values.extend(window_values.clone());
    values.extend(range());
    values.extend(window_values);
    let mut total_volunteers = 0;
    for r in rows(db, &sql, values).await? {
        if r.part == "*" {
            total_volunteers = r.n;
            continue;
        }
        let f = parts.entry(part_of(&r.part)).or_default();
        f.volunteers += r.n;
        f.no_shows += r.m.unwrap_or(0);
        f.attended_or_missed += r.o.unwrap_or(0);
    }
    Ok(SubtreeStats {
        parts,
        total_workers,
        total_volunteers,
    })
}

#[derive(FromQueryResult)]
struct OrgRow {
    part: String,
    k1: Option<Uuid>,
    n: i64,
    m: Option<i64>,
}

async fn rows_uuid_k1(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> ApiResult<Vec<(String, Option<Uuid>, i64, i64)>> {
    let stmt = statement(db.get_database_backend(), sql, values);
    Ok(OrgRow::find_by_statement(stmt)
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.part, r.k1, r.n, r.m.unwrap_or(0)))
        .collect())
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
    pub participations: i64,
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
        "SELECT {case} AS part, CAST(NULL AS TEXT) AS k1, CAST(NULL AS TEXT) AS k2, COUNT(*) AS n, \
         CAST(NULL AS BIGINT) AS m, CAST(NULL AS BIGINT) AS o \
         FROM service s JOIN grid g ON g.id = s.grid_id WHERE g.path >= {{P}} AND g.path < {{P}} AND {window} GROUP BY 1"
    );
    let mut values = ends.clone();
    values.extend([
        Value::from(lower.clone()),
        Value::from(upper.clone()),
        Value::from(bounds[0]),
        Value::from(bounds[buckets]),
    ]);
    for r in rows(db, &sql, values).await? {
        if let Some(b) = r.part.parse::<usize>().ok().and_then(|i| out.get_mut(i)) {
            b.services += r.n;
        }
    }
    let sql = format!(
        "SELECT {case} AS part, CAST(NULL AS TEXT) AS k1, CAST(NULL AS TEXT) AS k2, COUNT(*) AS n, \
         SUM(CASE WHEN x.role = 'VOLUNTEER' THEN COALESCE(x.minutes, 0) ELSE 0 END) AS m, CAST(NULL AS BIGINT) AS o \
         FROM participation x JOIN service s ON s.id = x.service_id JOIN grid g ON g.id = s.grid_id \
         WHERE g.path >= {{P}} AND g.path < {{P}} AND {window} AND x.status <> 'CANCELLED' GROUP BY 1"
    );
    let mut values = ends;
    values.extend([
        Value::from(lower),
        Value::from(upper),
        Value::from(bounds[0]),
        Value::from(bounds[buckets]),
    ]);
    for r in rows(db, &sql, values).await? {
        if let Some(b) = r.part.parse::<usize>().ok().and_then(|i| out.get_mut(i)) {
            b.participations += r.n;
            b.volunteer_minutes += r.m.unwrap_or(0);
        }
    }
    Ok(out)
}
