//! Statistics for partner agencies: `stats(withinGridId, from, to)` and `Grid.stats`.
//!
//! Figures come from grouped SQL aggregates (`store::stats`), a constant number of statements
//! whatever the subtree. For the AGENCY role every count of people or participations is
//! published through cell-key perturbation (`store::stats::Perturbation`, explained in
//! `docs/statistics.md`): the same records always publish the same value, small counts never
//! appear, and differences between figures are noisy. Counts of grids and services are not
//! personal and stay exact; ADMIN and GRID_MANAGER get exact figures.
//!
//! Incident figures (`GridStats.incidents`, [`incident`]) are computed only when selected, once
//! per request for the root and all its children.
//!
//! Statistics are charged by the work they do (`docs/security.md`): see [`STATS_COST`],
//! [`by_child_grid_cost`] and [`series_cost`].

mod incident;

pub use incident::{
    IncidentCategoryCount, IncidentSeverityCount, IncidentSourceCount, IncidentStats,
    IncidentStatusCount,
};

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Organization;
use super::relay::{Connection, id_of};
use super::scalars::DateTime as Scalar;
use super::scalars::{Order, PersonTag, ServiceCategory, ServiceStatus};
use crate::error::{ApiError, ApiResult};
use crate::loaders::ById;
use crate::store::page::PageRequest;
use crate::store::stats::{
    AGE_BANDS, Cell, Figures, Perturbation, incident_stats, subtree_stats, top_level_categories,
};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{grid, grid_assignment, organization};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use uuid::Uuid;

/// What listing 100 nodes costs, `grids(first: 100) { nodes { id } }` (100 × 2 + 1): the unit
/// statistics are charged in.
pub const LIST_100_NODES: usize = 201;
/// Each `stats` (root or `Grid.stats`), besides what it selects: it runs about eight grouped
/// statements over the whole subtree (three more when `incidents` is selected), priced as about
/// five pages of 100 nodes.
pub const STATS_COST: usize = 1_000;
/// Children `byChildGrid` is charged for: the number of children is not known when a query is
/// validated.
pub const CHARGED_CHILDREN: usize = 100;

/// The complexity of a `stats` field whose selection costs `child_complexity`.
pub fn stats_cost(child_complexity: usize) -> usize {
    STATS_COST.saturating_add(child_complexity)
}

/// The complexity of `byChildGrid`: [`CHARGED_CHILDREN`] children, each a page of 100 nodes
/// plus what it selects.
pub fn by_child_grid_cost(child_complexity: usize) -> usize {
    CHARGED_CHILDREN
        .saturating_mul(LIST_100_NODES.saturating_add(child_complexity))
        .saturating_add(1)
}

/// The complexity of `series`: the most buckets a series may have (`GRIDGOV_MAX_SERIES_BUCKETS`) (the window is an argument of the parent
/// field, which a complexity function does not see), each a page of 100 nodes plus what it
/// selects.
pub fn series_cost(child_complexity: usize) -> usize {
    crate::caps::current()
        .max_series_buckets
        .saturating_mul(LIST_100_NODES.saturating_add(child_complexity))
        .saturating_add(1)
}

/// A count. For AGENCY callers a count of people or participations is perturbed (`perturbed:
/// true`): it may differ from the exact count by a little, and is never between 1 and
/// `GRIDGOV_STATS_MIN_COUNT − 1`.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq)]
pub struct StatCount {
    /// The published count; never null (the type stays nullable for older clients).
    pub value: Option<i32>,
    /// Always false: small counts are no longer suppressed but perturbed.
    #[graphql(
        deprecation = "always false: small counts are perturbed, not suppressed; see `perturbed`"
    )]
    pub suppressed: bool,
    /// Whether `value` went through cell-key perturbation (AGENCY callers, counts of people and
    /// participations). It says nothing about whether this value differs from the exact one.
    pub perturbed: bool,
}

impl StatCount {
    fn of(value: i64, perturbed: bool) -> StatCount {
        StatCount {
            value: Some(i32::try_from(value).unwrap_or(i32::MAX)),
            suppressed: false,
            perturbed,
        }
    }
}

/// Residents carrying one care tag.
#[derive(SimpleObject, Clone)]
pub struct TagCount {
    /// The care tag.
    pub tag: PersonTag,
    /// Residents with this tag; perturbed for AGENCY callers.
    pub count: StatCount,
}
/// Residents in one group of a breakdown (by gender or by age band).
#[derive(SimpleObject, Clone)]
pub struct KeyCount {
    /// `MALE`, `FEMALE`, `UNKNOWN`; or an age band `0-17`, `18-34`, `35-59`, `60-79`, `80+`.
    pub key: String,
    /// Residents in this group; perturbed for AGENCY callers.
    pub count: StatCount,
}
/// Services in one status.
#[derive(SimpleObject, Clone)]
pub struct StatusCount {
    /// The status.
    pub status: ServiceStatus,
    /// Services starting in the window with this status (exact for every caller).
    pub count: StatCount,
}
/// Services of one category.
#[derive(SimpleObject, Clone)]
pub struct CategoryCount {
    /// The category.
    pub category: ServiceCategory,
    /// Services starting in the window of this category (exact for every caller).
    pub count: StatCount,
}

/// Participations registered by one organisation.
pub struct OrganizationCount {
    organization: Option<Uuid>,
    count: StatCount,
}

/// Participations registered by one organisation (or by none).
#[Object]
impl OrganizationCount {
    /// The registering organisation; null for participations registered without one.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let Some(id) = self.organization else {
            return Ok(None);
        };
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<organization::Entity>::new(id))
            .await?
            .map(Organization))
    }
    /// Participations (not cancelled) it registered in the window's services; perturbed for
    /// AGENCY callers.
    async fn count(&self) -> StatCount {
        self.count
    }
}

/// How the caller gets counts of people and participations: exact, or perturbed.
#[derive(Clone, Copy)]
struct Disclosure {
    perturbation: Option<Perturbation>,
}

impl Disclosure {
    /// The value shown for a count of people or participations.
    fn value(self, cell: Cell) -> i64 {
        match self.perturbation {
            Some(p) => p.publish(cell),
            None => cell.count,
        }
    }

    fn personal(self, cell: Cell) -> StatCount {
        StatCount::of(self.value(cell), self.perturbation.is_some())
    }

    /// Hours from volunteer minutes. Perturbed callers get them to the nearest 10 h (5 h up),
    /// and 0 whenever a count in `bases` (the participations, the volunteers) is shown as 0;
    /// others to the hundredth.
    fn hours(self, minutes: i64, bases: &[Cell]) -> f64 {
        let hours = minutes as f64 / 60.0;
        if self.perturbation.is_none() {
            return (hours * 100.0).round() / 100.0;
        }
        if bases.iter().any(|c| self.value(*c) == 0) {
            return 0.0;
        }
        (hours / 10.0).round() * 10.0
    }
}

/// `num / den` to four decimals; null when `den` is 0.
fn rate(num: i64, den: i64) -> Option<f64> {
    (den != 0).then(|| ((num as f64 / den as f64) * 10_000.0).round() / 10_000.0)
}

/// Statistics of a grid's subtree (or of one child's subtree inside `byChildGrid`).
pub struct GridStats {
    grid: Uuid,
    figures: Figures,
    children: Vec<(Uuid, Figures)>,
    /// Whether this is a child of `byChildGrid` (its incident figures are a part, not the whole).
    is_child: bool,
    disclosure: Disclosure,
    window: Arc<Window>,
}

/// The time window of a statistics request, shared by the root and its children, with the
/// incident figures of the whole subtree once one of them has asked for them.
struct Window {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    time_zone: chrono_tz::Tz,
    /// The root's path.
    path: String,
    /// The instant `overdue` is judged at, the same for every figure of the request.
    now: DateTime<Utc>,
    incidents: tokio::sync::OnceCell<(
        crate::store::stats::IncidentStats,
        Arc<[entity::incident_category::Model]>,
    )>,
}

/// Length of the buckets of a statistics `series`, in the request's time zone.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum StatsInterval {
    /// Calendar days, from local midnight.
    Day,
    /// Weeks from Monday, local midnight.
    Week,
    /// Calendar months, from the 1st.
    Month,
}

/// One bucket of a time series.
#[derive(SimpleObject)]
pub struct StatsBucket {
    /// Incidents reported in the bucket: their counts by status (now), category, severity and
    /// source, rates, medians, those overdue now, escalations and satisfaction, as in
    /// `GridStats.incidents`.
    pub incidents: IncidentStats,
    /// Start of the bucket: local midnight in the requested time zone.
    pub start: Scalar,
    /// Services starting in the bucket (exact for every caller).
    pub service_count: StatCount,
    /// Participations (not cancelled) in services starting in the bucket; perturbed for AGENCY
    /// callers.
    pub participation_count: StatCount,
    /// Hours credited to volunteers in the bucket's services: to the hundredth, or for AGENCY
    /// callers to the nearest 10 h (0 when the participation count is shown as 0).
    pub volunteer_hours: f64,
}

fn keyed<K: Ord, V: Copy + Default>(map: &std::collections::BTreeMap<K, V>, keys: &[K]) -> Vec<V> {
    keys.iter()
        .map(|k| map.get(k).copied().unwrap_or_default())
        .collect()
}

fn exact(n: i64) -> StatCount {
    StatCount::of(n, false)
}

/// Figures over a grid's subtree: residents, grid coverage, services, participations and
/// incidents. ADMIN and GRID_MANAGER get exact figures; AGENCY gets counts of people,
/// participations and incidents perturbed (`StatCount.perturbed`); other roles are `FORBIDDEN`.
/// See `docs/statistics.md`.
#[Object]
impl GridStats {
    /// The grid whose subtree these figures cover.
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<grid::Entity>::new(self.grid))
            .await?
            .map(Grid))
    }
    /// Residents whose home grid is in the subtree.
    async fn resident_count(&self) -> StatCount {
        self.disclosure.personal(self.figures.residents)
    }
    /// Residents per care tag (a resident may carry several).
    async fn residents_by_tag(&self) -> Vec<TagCount> {
        use entity::PersonTagKind::*;
        let tags = [ElderlyLivingAlone, Disabled, KeyCare, HealthMonitoring];
        let names = [
            "ELDERLY_LIVING_ALONE",
            "DISABLED",
            "KEY_CARE",
            "HEALTH_MONITORING",
        ]
        .map(String::from);
        let cells = keyed(&self.figures.by_tag, &names);
        tags.iter()
            .zip(cells)
            .map(|(t, c)| TagCount {
                tag: (*t).into(),
                count: self.disclosure.personal(c),
            })
            .collect()
    }
    /// Residents per gender: `MALE`, `FEMALE`, and `UNKNOWN` for those without one.
    async fn residents_by_gender(&self) -> Vec<KeyCount> {
        let keys = ["MALE", "FEMALE", "UNKNOWN"].map(String::from);
        let cells = keyed(&self.figures.by_gender, &keys);
        keys.into_iter()
            .zip(cells)
            .map(|(key, c)| KeyCount {
                key,
                count: self.disclosure.personal(c),
            })
            .collect()
    }
    /// Residents by age band today (residents without a birth date are not counted).
    async fn residents_by_age_band(&self) -> Vec<KeyCount> {
        let keys = AGE_BANDS.map(String::from);
        let cells = keyed(&self.figures.by_age_band, &keys);
        keys.into_iter()
            .zip(cells)
            .map(|(key, c)| KeyCount {
                key,
                count: self.disclosure.personal(c),
            })
            .collect()
    }
    /// Grids of level GRID in the subtree (exact for every caller).
    async fn grid_count(&self) -> StatCount {
        exact(self.figures.grids)
    }
    /// Grids of level GRID with at least one worker (exact for every caller).
    async fn grids_with_worker(&self) -> StatCount {
        exact(self.figures.grids_with_worker)
    }
    /// "Full management coverage": `gridsWithWorker / gridCount`.
    async fn coverage_rate(&self) -> Option<f64> {
        rate(self.figures.grids_with_worker, self.figures.grids)
    }
    /// Distinct people responsible for grids of the subtree.
    async fn worker_count(&self) -> StatCount {
        self.disclosure.personal(self.figures.workers)
    }
    /// `residentCount / workerCount`, of the figures as shown.
    async fn residents_per_worker(&self) -> Option<f64> {
        let d = self.disclosure;
        rate(
            d.value(self.figures.residents),
            d.value(self.figures.workers),
        )
    }
    /// Grids of level GRID without any worker.
    #[graphql(complexity = "super::relay::page_cost(first, None, child_complexity)")]
    async fn grids_without_worker(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 0 to 100, default 20.")] first: Option<i32>,
        #[graphql(desc = "Cursor of an edge (or `pageInfo.endCursor`): the page starts after it.")]
        after: Option<String>,
    ) -> ApiResult<Connection<Grid>> {
        let page = PageRequest::new(first, after, None, None)?;
        let root = self.grid;
        let mut staffed = Query::select();
        staffed
            .column(grid_assignment::Column::GridId)
            .from(grid_assignment::Entity);
        let select = grid::Entity::find()
            .filter(crate::store::filters::path_in_subtree(
                Expr::col((grid::Entity, grid::Column::Path)),
                root,
            ))
            .filter(grid::Column::Level.eq(entity::GridLevel::Grid))
            .filter(Expr::col((grid::Entity, grid::Column::Id)).not_in_subquery(staffed));
        Connection::root(
            RequestCtx::of(ctx)?,
            select,
            super::scalars::order_spec::<super::grid::GridOrderField>(None::<Order<_>>),
            page,
        )
        .await
    }
    /// Services starting in the window (exact for every caller, as are the services' figures).
    async fn service_count(&self) -> StatCount {
        exact(self.figures.services_by_status.values().sum())
    }
    /// Services starting in the window per status, every status listed (exact).
    async fn services_by_status(&self) -> Vec<StatusCount> {
        use entity::ServiceStatus::*;
        let all = [Draft, Published, InProgress, Completed, Cancelled];
        let keys = [
            "DRAFT",
            "PUBLISHED",
            "IN_PROGRESS",
            "COMPLETED",
            "CANCELLED",
        ]
        .map(String::from);
        let counts = keyed(&self.figures.services_by_status, &keys);
        all.iter()
            .zip(counts)
            .map(|(s, n)| StatusCount {
                status: (*s).into(),
                count: exact(n),
            })
            .collect()
    }
    /// Services starting in the window per category, every category listed (exact).
    async fn services_by_category(&self) -> Vec<CategoryCount> {
        use entity::ServiceCategory::*;
        let all = [
            EpidemicPrevention,
            ElderlyCare,
            Health,
            Safety,
            Sanitation,
            LegalAid,
            Education,
            Other,
        ];
        let keys = [
            "EPIDEMIC_PREVENTION",
            "ELDERLY_CARE",
            "HEALTH",
            "SAFETY",
            "SANITATION",
            "LEGAL_AID",
            "EDUCATION",
            "OTHER",
        ]
        .map(String::from);
        let counts = keyed(&self.figures.services_by_category, &keys);
        all.iter()
            .zip(counts)
            .map(|(c, n)| CategoryCount {
                category: (*c).into(),
                count: exact(n),
            })
            .collect()
    }
    /// Completed services among those published (PUBLISHED, IN_PROGRESS, COMPLETED).
    async fn completion_rate(&self) -> Option<f64> {
        let s = &self.figures.services_by_status;
        let completed = s.get("COMPLETED").copied().unwrap_or(0);
        let published = completed
            + s.get("PUBLISHED").copied().unwrap_or(0)
            + s.get("IN_PROGRESS").copied().unwrap_or(0);
        rate(completed, published)
    }
    /// Participations (not cancelled) in services of the window.
    async fn participation_count(&self) -> StatCount {
        self.disclosure.personal(self.figures.participations)
    }
    /// Distinct people taking part as volunteers.
    async fn volunteer_count(&self) -> StatCount {
        self.disclosure.personal(self.figures.volunteers)
    }
    /// Hours credited to volunteers (from check-in/check-out minutes). For AGENCY callers to the
    /// nearest 10 h, and 0 when the participation or volunteer count is shown as 0.
    async fn volunteer_hours(&self) -> f64 {
        let f = &self.figures;
        self.disclosure
            .hours(f.volunteer_minutes, &[f.participations, f.volunteers])
    }
    /// No-shows among closed participations (completed or no-show), of the figures as shown
    /// (at most 1).
    async fn no_show_rate(&self) -> Option<f64> {
        let d = self.disclosure;
        let f = &self.figures;
        let closed = d.value(f.attended_or_missed);
        rate(std::cmp::min(d.value(f.no_shows), closed), closed)
    }
    /// Participations per registering organisation; organisations shown with 0 are left out.
    async fn by_organization(&self) -> Vec<OrganizationCount> {
        self.figures
            .by_organization
            .iter()
            .map(|(organization, c)| OrganizationCount {
                organization: *organization,
                count: self.disclosure.personal(*c),
            })
            .filter(|o| o.count.value != Some(0))
            .collect()
    }
    /// Incidents placed in the subtree's grids and reported in the window (all of them when
    /// the request has no window): counts by status, category, severity and source, closure and
    /// on-time rates, medians, those overdue now, escalations and satisfaction. Computed once per
    /// request for the root and every child of `byChildGrid`.
    async fn incidents(&self, ctx: &Context<'_>) -> ApiResult<IncidentStats> {
        let w = &self.window;
        let (all, categories) = w
            .incidents
            .get_or_try_init(|| async {
                let db = &RequestCtx::of(ctx)?.db;
                let stats = incident_stats(db, &w.path, w.from, w.to, w.now).await?;
                let categories: Arc<[_]> = top_level_categories(db).await?.into();
                ApiResult::Ok((stats, categories))
            })
            .await?;
        let figures = if self.is_child {
            all.parts.get(&Some(self.grid)).cloned().unwrap_or_default()
        } else {
            all.total.clone()
        };
        Ok(IncidentStats {
            figures,
            categories: categories.clone(),
            disclosure: self.disclosure,
        })
    }
    /// Service, participation and incident figures per day, week (from Monday) or month of
    /// `[from, to)` in the request's time zone, empty buckets included; needs `from` and `to`.
    /// Charged as 400 buckets whatever the window.
    #[graphql(complexity = "series_cost(child_complexity)")]
    async fn series(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Length of each bucket.")] interval: StatsInterval,
    ) -> ApiResult<Vec<StatsBucket>> {
        use crate::store::stats::{Interval, bucket_bounds, incident_series, series};
        let (Some(from), Some(to)) = (self.window.from, self.window.to) else {
            return Err(ApiError::bad_input(
                "from",
                "`series` needs both `from` and `to`",
            ));
        };
        let interval = match interval {
            StatsInterval::Day => Interval::Day,
            StatsInterval::Week => Interval::Week,
            StatsInterval::Month => Interval::Month,
        };
        let max_buckets = crate::caps::current().max_series_buckets;
        let bounds = bucket_bounds(from, to, interval, self.window.time_zone, max_buckets)
            .ok_or_else(|| {
                ApiError::bad_input(
                    "interval",
                    format!("the series would have more than {max_buckets} buckets"),
                )
            })?;
        let rq = RequestCtx::of(ctx)?;
        let path = rq
            .loader
            .load_one(ById::<grid::Entity>::new(self.grid))
            .await?
            .ok_or_else(|| ApiError::not_found("Grid"))?
            .path;
        let figures = series(&rq.db, &path, &bounds).await?;
        let incidents = incident_series(&rq.db, &path, &bounds, self.window.now).await?;
        let categories: Arc<[_]> = top_level_categories(&rq.db).await?.into();
        let d = self.disclosure;
        Ok(figures
            .iter()
            .zip(incidents)
            .zip(&bounds)
            .map(|((b, incidents), start)| StatsBucket {
                incidents: IncidentStats {
                    figures: incidents,
                    categories: categories.clone(),
                    disclosure: d,
                },
                start: (*start).into(),
                service_count: exact(b.services),
                participation_count: d.personal(b.participations),
                volunteer_hours: d.hours(b.volunteer_minutes, &[b.participations]),
            })
            .collect())
    }
    /// The same figures for each direct child grid, each computed (and, for AGENCY callers,
    /// perturbed) on its own: a child's figures are those of `stats(withinGridId: child)`.
    /// Charged as 100 children whatever their number.
    #[graphql(complexity = "by_child_grid_cost(child_complexity)")]
    async fn by_child_grid(&self) -> Vec<GridStats> {
        self.children
            .iter()
            .map(|(id, f)| GridStats {
                grid: *id,
                figures: f.clone(),
                children: vec![],
                is_child: true,
                disclosure: self.disclosure,
                window: self.window.clone(),
            })
            .collect()
    }
}

/// Computes the statistics of `root`'s subtree for the caller.
pub async fn stats_for(
    ctx: &Context<'_>,
    root: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    time_zone: &str,
) -> ApiResult<GridStats> {
    let time_zone: chrono_tz::Tz = time_zone.parse().map_err(|_| {
        ApiError::bad_input(
            "timeZone",
            "`timeZone` must be an IANA time zone such as Asia/Shanghai",
        )
    })?;
    let rq = RequestCtx::of(ctx)?;
    let caller = &rq.actor.caller;
    let access = crate::policy::statistics(caller)?;
    let grid = rq
        .loader
        .load_one(ById::<grid::Entity>::new(root))
        .await?
        .ok_or_else(|| ApiError::NotFoundField {
            what: "Grid".into(),
            field: "withinGridId".into(),
        })?;
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err(ApiError::bad_input("to", "`to` must be after `from`"));
    }
    let stats = subtree_stats(&rq.db, &grid.path, from, to, Utc::now().date_naive()).await?;
    let total = stats.total();
    let children: Vec<(Uuid, Figures)> = stats
        .parts
        .into_iter()
        .filter_map(|(k, f)| k.map(|id| (id, f)))
        .collect();
    let policy = ctx
        .data::<StatsPolicy>()
        .map_err(|_| ApiError::internal("statistics policy missing"))?;
    let perturbation = (access == crate::policy::Statistics::Perturbed)
        .then(|| Perturbation::new(policy.min_count));
    Ok(GridStats {
        grid: root,
        figures: total,
        children,
        is_child: false,
        disclosure: Disclosure { perturbation },
        window: Arc::new(Window {
            from,
            to,
            time_zone,
            path: grid.path,
            now: Utc::now(),
            incidents: tokio::sync::OnceCell::new(),
        }),
    })
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Figures over a grid and its whole subtree; services and participations are those of
    /// services starting in `[from, to)`, incidents those reported in it.
    #[graphql(complexity = "stats_cost(child_complexity)")]
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the grid whose subtree (the grid included) is counted.")]
        within_grid_id: ID,
        #[graphql(
            desc = "Only services starting at or after this instant count, with their participations, and only incidents reported at or after it (no lower bound when omitted). Residents and grids are counted as they are now."
        )]
        from: Option<Scalar>,
        #[graphql(
            desc = "Only services starting, and incidents reported, before this instant count (no upper bound when omitted); must be after `from`."
        )]
        to: Option<Scalar>,
        #[graphql(
            default = "Asia/Shanghai",
            desc = "IANA time zone (e.g. `Asia/Shanghai`) of the `series` buckets: each starts at local midnight."
        )]
        time_zone: String,
    ) -> ApiResult<GridStats> {
        let root = id_of::<grid::Entity>(&within_grid_id, "withinGridId")?;
        let (from, to) = (from.map(Into::into), to.map(Into::into));
        stats_for(ctx, root, from, to, &time_zone).await
    }
}

/// Schema-wide statistics settings.
pub struct StatsPolicy {
    /// `k`: AGENCY callers never see a count of people or participations from 1 to `k − 1`.
    pub min_count: u32,
}
