//! Incident figures of a subtree (per direct child of the root, and the whole) and of the
//! buckets of a series, in two grouped statements whatever the size of the subtree:
//!
//! - *counts*: one `UNION ALL` of four groupings (by status, by top-level category, by
//!   severity, by source), each row with its count and cell key; the status grouping also
//!   carries the figures that add up across statuses (closed on time, overdue now,
//!   escalations, ratings);
//! - *medians*: the hours to acceptance and to closure, ranked per part with window functions
//!   (`ROW_NUMBER`, `COUNT(*) OVER`, both databases) and only the one or two middle rows of
//!   each part returned. Medians do not add up, so the whole subtree is a part of its own
//!   (`'*'`), as distinct people are in the parent module.
//!
//! Incidents are counts about people (their reporters): every count is a [`Cell`] summed from
//! `incident.record_key`. An escalation counts as a record keyed by its incident's key, so the
//! escalations' cell is `(Σ escalations, Σ escalations × record_key)`.

use super::{Cell, Value, part_of, rows};
use crate::error::{ApiError, ApiResult};
use crate::store::incident::overdue_condition;
use chrono::{DateTime, Utc};
use entity::{IncidentStatus, incident, incident_category};
use sea_orm::sea_query::{Expr, Query, SqliteQueryBuilder};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A median of durations in hours, and how many durations it is the median of.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Median {
    pub hours: Option<f64>,
    pub of: i64,
}

/// Incident figures of one part (the whole subtree, one child's subtree, or one bucket), over
/// the incidents reported in the window. Counts are exact; perturbation, for the callers who
/// get it, happens when they are shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFigures {
    pub count: Cell,
    pub by_status: BTreeMap<String, Cell>,
    /// By the code of the top-level category (the parent's code for a sub-category).
    pub by_category: BTreeMap<String, Cell>,
    pub by_severity: BTreeMap<String, Cell>,
    pub by_source: BTreeMap<String, Cell>,
    /// All but REJECTED: the base of the closure rate.
    pub not_rejected: Cell,
    /// CLOSED with `closed_at ≤ due_at`.
    pub closed_on_time: Cell,
    /// Unfinished and past a deadline now ([`overdue_condition`]).
    pub overdue: Cell,
    pub escalations: Cell,
    /// Incidents with a satisfaction rating, and the sum of their ratings.
    pub rated: Cell,
    pub satisfaction_sum: i64,
    pub to_accept: Median,
    pub to_close: Median,
}

impl IncidentFigures {
    /// The CLOSED incidents.
    pub fn closed(&self) -> Cell {
        self.by_status
            .get(IncidentStatus::Closed.to_value().as_str())
            .copied()
            .unwrap_or_default()
    }

    /// Adds the additive figures of `other` (not the medians).
    fn add(&mut self, other: &IncidentFigures) {
        self.count += other.count;
        for (to, from) in [
            (&mut self.by_status, &other.by_status),
            (&mut self.by_category, &other.by_category),
            (&mut self.by_severity, &other.by_severity),
            (&mut self.by_source, &other.by_source),
        ] {
            super::add_all(to, from);
        }
        self.not_rejected += other.not_rejected;
        self.closed_on_time += other.closed_on_time;
        self.overdue += other.overdue;
        self.escalations += other.escalations;
        self.rated += other.rated;
        self.satisfaction_sum += other.satisfaction_sum;
    }
}

/// Incident figures of a subtree: the whole and each part (see [`super::SubtreeStats`]).
#[derive(Debug, Clone, Default)]
pub struct IncidentStats {
    pub total: IncidentFigures,
    pub parts: BTreeMap<Option<Uuid>, IncidentFigures>,
}

/// The top-level categories (those without a parent) by code: the groups of `by_category`.
pub async fn top_level_categories(
    db: &impl ConnectionTrait,
) -> ApiResult<Vec<incident_category::Model>> {
    Ok(incident_category::Entity::find()
        .filter(incident_category::Column::ParentId.is_null())
        .order_by_asc(incident_category::Column::Code)
        .all(db)
        .await?)
}

/// A piece of SQL with its values, in the order of their `{P}` placeholders.
#[derive(Clone, Default)]
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            values: vec![],
        }
    }
    fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }
    fn bind(&mut self, v: impl Into<Value>) -> &mut Sql {
        self.text.push_str("{P}");
        self.values.push(v.into());
        self
    }
    fn append(&mut self, other: &Sql) -> &mut Sql {
        self.text.push_str(&other.text);
        self.values.extend(other.values.iter().cloned());
        self
    }
}

/// Which incidents a statement counts and how it groups them.
struct Grouping {
    /// The part column: the direct child of the root, or the bucket.
    part: Sql,
    /// The rest of the `WHERE` clause after the joins: the subtree and the window.
    filter: Sql,
    /// Whether the whole (`'*'`) needs medians of its own.
    whole: bool,
}

/// The joins every statement reads: the incident's grid (for the subtree), its category and
/// that category's parent (for the top-level code).
const FROM: &str = " FROM incident JOIN grid g ON g.id = incident.grid_id \
     JOIN incident_category c ON c.id = incident.category_id \
     LEFT JOIN incident_category pc ON pc.id = c.parent_id WHERE ";

/// [`overdue_condition`] as SQL text with `{P}` placeholders, so that statistics and the
/// `overdue` filter of `incidents` share one definition. Built by sea-query's SQLite builder,
/// whose `?` placeholders and double-quoted `"incident"."column"` names are valid on both
/// databases once renumbered by [`super::statement`]; values are bound, never inlined, so the
/// text holds no other `?`.
fn overdue_sql(now: DateTime<Utc>) -> ApiResult<Sql> {
    let (text, values) = Query::select()
        .expr(Expr::cust("1"))
        .from(incident::Entity)
        .cond_where(overdue_condition(now))
        .build(SqliteQueryBuilder);
    let (_, condition) = text
        .split_once(" WHERE ")
        .ok_or_else(|| ApiError::internal("the overdue condition has no WHERE clause"))?;
    if condition.matches('?').count() != values.0.len() {
        return Err(ApiError::internal(
            "the overdue condition's placeholders do not match its values",
        ));
    }
    Ok(Sql {
        text: format!("({})", condition.replace('?', "{P}")),
        values: values.0,
    })
}

/// Hours from `earlier` to `later` (columns of `incident`), as a double.
fn hours_between(backend: DbBackend, later: &str, earlier: &str) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "CAST(EXTRACT(EPOCH FROM (incident.{later} - incident.{earlier})) AS DOUBLE PRECISION) / 3600.0"
        ),
        _ => format!("(julianday(incident.{later}) - julianday(incident.{earlier})) * 24.0"),
    }
}

/// A row of the counts statement: `dim` is `S` (status), `C` (category), `V` (severity) or
/// `O` (source); the columns after `n_key` are set in the status rows only.
#[derive(FromQueryResult)]
struct CountRow {
    part: String,
    dim: String,
    k: Option<String>,
    n: Option<i64>,
    n_key: Option<i64>,
    on_time: Option<i64>,
    on_time_key: Option<i64>,
    overdue: Option<i64>,
    overdue_key: Option<i64>,
    esc: Option<i64>,
    esc_key: Option<i64>,
    rated: Option<i64>,
    rated_key: Option<i64>,
    sat: Option<i64>,
}

fn cell(n: Option<i64>, key: Option<i64>) -> Cell {
    Cell::new(n.unwrap_or(0), key.unwrap_or(0))
}

/// A row of the medians statement: `kind` is `A` (to acceptance) or `C` (to closure).
#[derive(FromQueryResult)]
struct MedianRow {
    part: String,
    kind: String,
    median: Option<f64>,
    n: Option<i64>,
}

/// Figures per part of `g` (keyed by the part column's text).
async fn figures(
    db: &impl ConnectionTrait,
    g: &Grouping,
    now: DateTime<Utc>,
) -> ApiResult<BTreeMap<String, IncidentFigures>> {
    let closed = IncidentStatus::Closed.to_value();
    let rejected = IncidentStatus::Rejected.to_value();
    let overdue = overdue_sql(now)?;
    let null = "CAST(NULL AS BIGINT)";

    // Counts: the status grouping with the additive figures, then the other three groupings.
    let mut sql = Sql::new("SELECT ");
    sql.append(&g.part)
        .push(" AS part, 'S' AS dim, incident.status AS k, COUNT(*) AS n, SUM(incident.record_key) AS n_key, ");
    let on_time = format!("incident.status = '{closed}' AND incident.closed_at <= incident.due_at");
    sql.push(&format!(
        "SUM(CASE WHEN {on_time} THEN 1 ELSE 0 END) AS on_time, \
         SUM(CASE WHEN {on_time} THEN incident.record_key ELSE 0 END) AS on_time_key, "
    ));
    sql.push("SUM(CASE WHEN ")
        .append(&overdue)
        .push(" THEN 1 ELSE 0 END) AS overdue, SUM(CASE WHEN ")
        .append(&overdue)
        .push(" THEN incident.record_key ELSE 0 END) AS overdue_key, ");
    sql.push(
        "SUM(incident.escalations) AS esc, SUM(incident.escalations * incident.record_key) AS esc_key, \
         SUM(CASE WHEN incident.satisfaction IS NOT NULL THEN 1 ELSE 0 END) AS rated, \
         SUM(CASE WHEN incident.satisfaction IS NOT NULL THEN incident.record_key ELSE 0 END) AS rated_key, \
         SUM(COALESCE(incident.satisfaction, 0)) AS sat",
    );
    sql.push(FROM).append(&g.filter).push(" GROUP BY 1, 3");
    for (dim, k) in [
        ("C", "COALESCE(pc.code, c.code)"),
        ("V", "incident.severity"),
        ("O", "incident.source"),
    ] {
        sql.push(" UNION ALL SELECT ").append(&g.part).push(&format!(
            " AS part, '{dim}' AS dim, {k} AS k, COUNT(*) AS n, SUM(incident.record_key) AS n_key, \
             {null}, {null}, {null}, {null}, {null}, {null}, {null}, {null}, {null}"
        ));
        sql.push(FROM).append(&g.filter).push(" GROUP BY 1, 3");
    }
    let mut out: BTreeMap<String, IncidentFigures> = BTreeMap::new();
    for r in rows::<CountRow>(db, &sql.text, sql.values).await? {
        let f = out.entry(r.part).or_default();
        let c = cell(r.n, r.n_key);
        let k = r.k.unwrap_or_default();
        match r.dim.as_str() {
            "S" => {
                f.count += c;
                if k != rejected {
                    f.not_rejected += c;
                }
                f.closed_on_time += cell(r.on_time, r.on_time_key);
                f.overdue += cell(r.overdue, r.overdue_key);
                f.escalations += cell(r.esc, r.esc_key);
                f.rated += cell(r.rated, r.rated_key);
                f.satisfaction_sum += r.sat.unwrap_or(0);
                *f.by_status.entry(k).or_default() += c;
            }
            "C" => *f.by_category.entry(k).or_default() += c,
            "V" => *f.by_severity.entry(k).or_default() += c,
            _ => *f.by_source.entry(k).or_default() += c,
        }
    }

    // Medians: durations per part (and over the whole), ranked; the middle one or two of each.
    let backend = db.get_database_backend();
    let durations = [
        (
            "A",
            hours_between(backend, "accepted_at", "created_at"),
            "incident.accepted_at IS NOT NULL".to_owned(),
        ),
        (
            "C",
            hours_between(backend, "closed_at", "created_at"),
            format!("incident.status = '{closed}' AND incident.closed_at IS NOT NULL"),
        ),
    ];
    let mut inner = Sql::default();
    let whole = Sql::new("'*'");
    let parts: &[&Sql] = if g.whole {
        &[&g.part, &whole]
    } else {
        &[&g.part]
    };
    for part in parts {
        for (kind, hours, condition) in &durations {
            if !inner.text.is_empty() {
                inner.push(" UNION ALL ");
            }
            inner
                .push("SELECT ")
                .append(part)
                .push(&format!(" AS part, '{kind}' AS kind, {hours} AS d"))
                .push(FROM)
                .append(&g.filter)
                .push(&format!(" AND {condition}"));
        }
    }
    let mut sql = Sql::new(
        "SELECT part, kind, AVG(d) AS median, MAX(c) AS n FROM (SELECT part, kind, d, \
         ROW_NUMBER() OVER (PARTITION BY part, kind ORDER BY d) AS rn, \
         COUNT(*) OVER (PARTITION BY part, kind) AS c FROM (",
    );
    sql.append(&inner)
        .push(") x) r WHERE rn IN ((c + 1) / 2, (c + 2) / 2) GROUP BY part, kind");
    for r in rows::<MedianRow>(db, &sql.text, sql.values).await? {
        let median = Median {
            hours: r.median,
            of: r.n.unwrap_or(0),
        };
        let f = out.entry(r.part).or_default();
        match r.kind.as_str() {
            "A" => f.to_accept = median,
            _ => f.to_close = median,
        }
    }
    Ok(out)
}

/// `created_at` in `[from, to)`, for the bounds given.
fn window(filter: &mut Sql, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) {
    if let Some(t) = from {
        filter.push(" AND incident.created_at >= ").bind(t);
    }
    if let Some(t) = to {
        filter.push(" AND incident.created_at < ").bind(t);
    }
}

fn subtree(root_path: &str) -> Sql {
    let upper = format!("{}0", &root_path[..root_path.len().saturating_sub(1)]);
    let mut s = Sql::new("g.path >= ");
    s.bind(root_path.to_owned())
        .push(" AND g.path < ")
        .bind(upper);
    s
}

/// Incident figures of the subtree at `root_path`, per direct child and in all, over the
/// incidents reported in `[from, to)`; `overdue` as of `now`.
#[tracing::instrument(name = "store.incident_stats", skip_all)]
pub async fn incident_stats(
    db: &impl ConnectionTrait,
    root_path: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ApiResult<IncidentStats> {
    let start = root_path.chars().count() + 1;
    let mut filter = subtree(root_path);
    window(&mut filter, from, to);
    let g = Grouping {
        part: Sql::new(&format!("SUBSTR(g.path, {start}, 36)")),
        filter,
        whole: true,
    };
    let mut by_part = figures(db, &g, now).await?;
    let whole = by_part.remove("*").unwrap_or_default();
    let mut total = IncidentFigures {
        to_accept: whole.to_accept,
        to_close: whole.to_close,
        ..IncidentFigures::default()
    };
    let mut parts = BTreeMap::new();
    for (part, f) in by_part {
        total.add(&f);
        parts.insert(part_of(&part), f);
    }
    Ok(IncidentStats { total, parts })
}

/// Incident figures per bucket of `bounds` (see [`super::bucket_bounds`]) over the subtree at
/// `root_path`, by the incidents' report times; empty buckets included.
#[tracing::instrument(name = "store.incident_series", skip_all, fields(buckets = bounds.len()))]
pub async fn incident_series(
    db: &impl ConnectionTrait,
    root_path: &str,
    bounds: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> ApiResult<Vec<IncidentFigures>> {
    let buckets = bounds.len().saturating_sub(1);
    let mut out = vec![IncidentFigures::default(); buckets];
    if buckets == 0 {
        return Ok(out);
    }
    let mut part = Sql::new("CASE");
    for (i, end) in bounds[1..].iter().enumerate() {
        part.push(" WHEN incident.created_at < ")
            .bind(*end)
            .push(&format!(" THEN '{i}'"));
    }
    part.push(" END");
    let mut filter = subtree(root_path);
    window(&mut filter, Some(bounds[0]), Some(bounds[buckets]));
    let g = Grouping {
        part,
        filter,
        whole: false,
    };
    for (part, f) in figures(db, &g, now).await? {
        if let Some(b) = part.parse::<usize>().ok().and_then(|i| out.get_mut(i)) {
            *b = f;
        }
    }
    Ok(out)
}
