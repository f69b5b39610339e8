//! Statistics for partner agencies: `stats(withinGridId, from, to)` and `Grid.stats`.
//!
//! Figures come from grouped SQL aggregates (`store::stats`), a constant number of statements
//! whatever the subtree. For the AGENCY role every count below the suppression threshold is
//! hidden (`value: null, suppressed: true`), and when a breakdown would otherwise let a hidden
//! cell be recovered by subtracting the shown cells from the shown total, the next smallest cell
//! is hidden too.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Organization;
use super::relay::{Connection, id_of};
use super::scalars::{Order, PersonTag, ServiceCategory, ServiceStatus};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::loaders::ById;
use crate::store::page::PageRequest;
use crate::store::stats::{AGE_BANDS, Figures, subtree_stats};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{grid, grid_assignment, organization};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use uuid::Uuid;

/// A count, or null when it is too small to show to the caller.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq)]
pub struct StatCount {
    pub value: Option<i32>,
    pub suppressed: bool,
}

#[derive(SimpleObject, Clone)]
pub struct TagCount {
    pub tag: PersonTag,
    pub count: StatCount,
}
#[derive(SimpleObject, Clone)]
pub struct KeyCount {
    /// `MALE`, `FEMALE`, `UNKNOWN`; or an age band `0-17`, `18-34`, `35-59`, `60-79`, `80+`.
    pub key: String,
    pub count: StatCount,
}
#[derive(SimpleObject, Clone)]
pub struct StatusCount {
    pub status: ServiceStatus,
    pub count: StatCount,
}
#[derive(SimpleObject, Clone)]
pub struct CategoryCount {
    pub category: ServiceCategory,
    pub count: StatCount,
}

/// Participation registered by one organisation (null: registered without one).
pub struct OrganizationCount {
    organization: Option<Uuid>,
    count: StatCount,
}

#[Object]
impl OrganizationCount {
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
    async fn count(&self) -> StatCount {
        self.count
    }
}

/// Who may see small numbers.
#[derive(Clone, Copy)]
struct Disclosure {
    threshold: Option<i64>,
}

impl Disclosure {
    fn one(self, n: i64) -> StatCount {
        let hidden = self.threshold.is_some_and(|k| n > 0 && n < k);
        StatCount {
            value: (!hidden).then(|| i32::try_from(n).unwrap_or(i32::MAX)),
            suppressed: hidden,
        }
    }

    /// A breakdown whose total is shown: small cells hidden, and never exactly one hidden cell.
    fn breakdown(self, cells: &[i64]) -> Vec<StatCount> {
        let mut out: Vec<StatCount> = cells.iter().map(|n| self.one(*n)).collect();
        if self.threshold.is_some() && out.iter().filter(|c| c.suppressed).count() == 1 {
            // Secondary suppression: hide the smallest other non-zero cell as well.
            if let Some((i, _)) = cells
                .iter()
                .enumerate()
                .filter(|(i, n)| !out[*i].suppressed && **n > 0)
                .min_by_key(|(_, n)| **n)
            {
                out[i] = StatCount {
                    value: None,
                    suppressed: true,
                };
            }
        }
        out
    }

    fn rate(self, num: StatCount, den: StatCount, n: i64, d: i64) -> Option<f64> {
        if num.suppressed || den.suppressed || d == 0 {
            return None;
        }
        Some(((n as f64 / d as f64) * 10_000.0).round() / 10_000.0)
    }
}

/// Statistics of a grid's subtree (or of one child's subtree inside `byChildGrid`).
pub struct GridStats {
    grid: Uuid,
    figures: Figures,
    children: Vec<(Uuid, Figures)>,
    disclosure: Disclosure,
    /// Counts hidden because of a sibling (secondary suppression in `byChildGrid`).
    forced: Forced,
    window: Arc<Window>,
}

/// The time window of a statistics request.
struct Window {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    time_zone: chrono_tz::Tz,
}

/// Most buckets a series may have.
const MAX_BUCKETS: usize = 400;

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum StatsInterval {
    Day,
    Week,
    Month,
}

/// One bucket of a time series.
#[derive(SimpleObject)]
pub struct StatsBucket {
    /// Start of the bucket: local midnight in the requested time zone.
    pub start: DateTime<Utc>,
    pub service_count: StatCount,
    pub participation_count: StatCount,
    pub volunteer_hours: f64,
}

#[derive(Clone, Copy, Default)]
struct Forced {
    residents: bool,
    participations: bool,
}

const HIDDEN: StatCount = StatCount {
    value: None,
    suppressed: true,
};

fn keyed<K: Ord>(map: &std::collections::BTreeMap<K, i64>, keys: &[K]) -> Vec<i64> {
    keys.iter()
        .map(|k| map.get(k).copied().unwrap_or(0))
        .collect()
}

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
        if self.forced.residents {
            HIDDEN
        } else {
            self.disclosure.one(self.figures.residents)
        }
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
            .map(|(t, n)| TagCount {
                tag: (*t).into(),
                count: self.disclosure.one(n),
            })
            .collect()
    }
    async fn residents_by_gender(&self) -> Vec<KeyCount> {
        let keys = ["MALE", "FEMALE", "UNKNOWN"].map(String::from);
        let counts = self
            .disclosure
            .breakdown(&keyed(&self.figures.by_gender, &keys));
        keys.into_iter()
            .zip(counts)
            .map(|(key, count)| KeyCount { key, count })
            .collect()
    }
    /// Residents by age band today (residents without a birth date are not counted).
    async fn residents_by_age_band(&self) -> Vec<KeyCount> {
        let keys = AGE_BANDS.map(String::from);
        let counts = self
            .disclosure
            .breakdown(&keyed(&self.figures.by_age_band, &keys));
        keys.into_iter()
            .zip(counts)
            .map(|(key, count)| KeyCount { key, count })
            .collect()
    }
    /// Grids of level GRID in the subtree.
    async fn grid_count(&self) -> StatCount {
        self.disclosure.one(self.figures.grids)
    }
    /// Grids of level GRID with at least one worker.
    async fn grids_with_worker(&self) -> StatCount {
        self.disclosure.one(self.figures.grids_with_worker)
    }
    /// "Full management coverage": `gridsWithWorker / gridCount`.
    async fn coverage_rate(&self) -> Option<f64> {
        let f = &self.figures;
        let d = self.disclosure;
        d.rate(
            d.one(f.grids_with_worker),
            d.one(f.grids),
            f.grids_with_worker,
            f.grids,
        )
    }
    /// Distinct people responsible for grids of the subtree.
    async fn worker_count(&self) -> StatCount {
        self.disclosure.one(self.figures.workers)
    }
    async fn residents_per_worker(&self) -> Option<f64> {
        let f = &self.figures;
        let d = self.disclosure;
        d.rate(d.one(f.residents), d.one(f.workers), f.residents, f.workers)
    }
    /// Grids of level GRID without any worker.
    async fn grids_without_worker(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
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
    /// Services starting in the window.
    async fn service_count(&self) -> StatCount {
        self.disclosure
            .one(self.figures.services_by_status.values().sum())
    }
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
        let counts = self
            .disclosure
            .breakdown(&keyed(&self.figures.services_by_status, &keys));
        all.iter()
            .zip(counts)
            .map(|(s, count)| StatusCount {
                status: (*s).into(),
                count,
            })
            .collect()
    }
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
        let counts = self
            .disclosure
            .breakdown(&keyed(&self.figures.services_by_category, &keys));
        all.iter()
            .zip(counts)
            .map(|(c, count)| CategoryCount {
                category: (*c).into(),
                count,
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
        let d = self.disclosure;
        d.rate(d.one(completed), d.one(published), completed, published)
    }
    /// Participations (not cancelled) in services of the window.
    async fn participation_count(&self) -> StatCount {
        if self.forced.participations {
            HIDDEN
        } else {
            self.disclosure.one(self.figures.participations)
        }
    }
    /// Distinct people taking part as volunteers.
    async fn volunteer_count(&self) -> StatCount {
        self.disclosure.one(self.figures.volunteers)
    }
    /// Hours credited to volunteers (from check-in/check-out minutes).
    async fn volunteer_hours(&self) -> f64 {
        (self.figures.volunteer_minutes as f64 / 60.0 * 100.0).round() / 100.0
    }
    /// No-shows among closed participations (completed or no-show).
    async fn no_show_rate(&self) -> Option<f64> {
        let f = &self.figures;
        let d = self.disclosure;
        d.rate(
            d.one(f.no_shows),
            d.one(f.attended_or_missed),
            f.no_shows,
            f.attended_or_missed,
        )
    }
    /// Participations per registering organisation.
    async fn by_organization(&self) -> Vec<OrganizationCount> {
        let keys: Vec<Option<Uuid>> = self.figures.by_organization.keys().copied().collect();
        let counts = self
            .disclosure
            .breakdown(&keyed(&self.figures.by_organization, &keys));
        keys.into_iter()
            .zip(counts)
            .map(|(organization, count)| OrganizationCount {
                organization,
                count,
            })
            .collect()
    }
    /// Service and participation figures per day, week (from Monday) or month of `[from, to)`
    /// in the request's time zone, empty buckets included; needs `from` and `to`.
    async fn series(
        &self,
        ctx: &Context<'_>,
        interval: StatsInterval,
    ) -> ApiResult<Vec<StatsBucket>> {
        use crate::store::stats::{Interval, bucket_bounds, series};
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
        let bounds = bucket_bounds(from, to, interval, self.window.time_zone, MAX_BUCKETS)
            .ok_or_else(|| {
                ApiError::bad_input(
                    "interval",
                    format!("the series would have more than {MAX_BUCKETS} buckets"),
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
        let d = self.disclosure;
        let services = d.breakdown(&figures.iter().map(|b| b.services).collect::<Vec<_>>());
        let participations =
            d.breakdown(&figures.iter().map(|b| b.participations).collect::<Vec<_>>());
        Ok(figures
            .iter()
            .enumerate()
            .map(|(i, b)| StatsBucket {
                start: bounds[i],
                service_count: services[i],
                participation_count: participations[i],
                volunteer_hours: (b.volunteer_minutes as f64 / 60.0 * 100.0).round() / 100.0,
            })
            .collect())
    }
    /// The same figures for each direct child grid. A child count that would let another
    /// hidden child count be recovered from the parent's total is hidden as well.
    async fn by_child_grid(&self) -> Vec<GridStats> {
        let d = self.disclosure;
        let hidden = |pick: fn(&Figures) -> i64| -> Vec<bool> {
            let cells: Vec<i64> = self.children.iter().map(|(_, f)| pick(f)).collect();
            d.breakdown(&cells).iter().map(|c| c.suppressed).collect()
        };
        let (residents, participations) = (hidden(|f| f.residents), hidden(|f| f.participations));
        self.children
            .iter()
            .enumerate()
            .map(|(i, (id, f))| GridStats {
                grid: *id,
                figures: f.clone(),
                children: vec![],
                disclosure: d,
                forced: Forced {
                    residents: residents[i],
                    participations: participations[i],
                },
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
    caller
        .require_write(&[Role::Admin, Role::GridManager, Role::Agency])
        .map_err(|_| {
            ApiError::Forbidden(format!("the {} role cannot read statistics", caller.role))
        })?;
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
    let threshold = (caller.role == Role::Agency).then_some(i64::from(policy.min_count));
    Ok(GridStats {
        grid: root,
        figures: total,
        children,
        disclosure: Disclosure { threshold },
        forced: Forced::default(),
        window: Arc::new(Window {
            from,
            to,
            time_zone,
        }),
    })
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Figures over a grid and its whole subtree; services and participations are those of
    /// services starting in `[from, to)`.
    async fn stats(
        &self,
        ctx: &Context<'_>,
        within_grid_id: ID,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(default = "Asia/Shanghai")] time_zone: String,
    ) -> ApiResult<GridStats> {
        let root = id_of::<grid::Entity>(&within_grid_id, "withinGridId")?;
        stats_for(ctx, root, from, to, &time_zone).await
    }
}

/// Schema-wide statistics settings.
pub struct StatsPolicy {
    /// Smallest count shown to AGENCY callers.
    pub min_count: u32,
}
