//! Incident writes: reporting with routing by the responsibility list, the life cycle, ratings
//! and the responsibility list itself.
//!
//! Every transition runs in the mutation's one transaction: lock the incident, check
//! `expectedVersion` and the rule of the transition, save it, append the history event (its
//! `position` is the incident's new version, so the history is totally ordered and a position
//! is never written twice), record the feed change and the audit entry.
//!
//! Deadlines are stored (`accept_due_at`, `due_at`) and *overdue* is computed in queries from
//! them and the current time ([`overdue_condition`]): nothing needs to run on a timer for the
//! flag to be right.

use super::changes::Tracked;
use super::write::{Writer, check_version, db, snapshot};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Duration, Utc};
use entity::{
    IncidentEventKind as Kind, IncidentSeverity, IncidentSource, IncidentStatus as S, grid,
    grid_assignment, incident, incident_category, incident_event, organization, person,
    responsibility,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value as Json, json};
use uuid::Uuid;

/// How long after its resolution or closure an incident may be reopened.
pub const REOPEN_WINDOW_DAYS: i64 = 30;

/// Statuses in which an incident is finished: no deadline runs any more.
pub const FINISHED: [S; 2] = [S::Closed, S::Rejected];

/// Statuses in which an incident still waits to be accepted (its `accept_due_at` runs).
pub const AWAITING_ACCEPTANCE: [S; 2] = [S::Reported, S::Escalated];

pub fn status_name(s: S) -> &'static str {
    match s {
        S::Reported => "REPORTED",
        S::Accepted => "ACCEPTED",
        S::Dispatched => "DISPATCHED",
        S::InProgress => "IN_PROGRESS",
        S::Resolved => "RESOLVED",
        S::Verified => "VERIFIED",
        S::Closed => "CLOSED",
        S::Rejected => "REJECTED",
        S::Reopened => "REOPENED",
        S::Escalated => "ESCALATED",
    }
}

/// Whether `m` is past a deadline at `now`: not finished, and past its closing deadline, or
/// still unaccepted past its acceptance deadline.
pub fn is_overdue(m: &incident::Model, now: DateTime<Utc>) -> bool {
    !FINISHED.contains(&m.status)
        && (m.due_at < now || (AWAITING_ACCEPTANCE.contains(&m.status) && m.accept_due_at < now))
}

/// [`is_overdue`] as SQL, for filters and statistics.
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(incident::Column::Status.is_not_in(FINISHED))
        .add(
            Condition::any().add(incident::Column::DueAt.lt(now)).add(
                Condition::all()
                    .add(incident::Column::Status.is_in(AWAITING_ACCEPTANCE))
                    .add(incident::Column::AcceptDueAt.lt(now)),
            ),
        )
}

/// A new incident as `reportIncident` (or Open311) gives it.
#[derive(Clone, Debug)]
pub struct Report {
    pub grid_id: Uuid,
    pub category_code: String,
    pub title: String,
    pub description: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub severity: Option<IncidentSeverity>,
    pub source: IncidentSource,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

/// Who handles an incident: a grid worker or an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignee {
    Person(Uuid),
    Organization(Uuid),
}

impl Assignee {
    fn of(m: &incident::Model) -> Option<Assignee> {
        m.assignee_person_id
            .map(Assignee::Person)
            .or(m.assignee_organization_id.map(Assignee::Organization))
    }
    fn set(self, m: &mut incident::Model) {
        let (p, o) = match self {
            Assignee::Person(p) => (Some(p), None),
            Assignee::Organization(o) => (None, Some(o)),
        };
        m.assignee_person_id = p;
        m.assignee_organization_id = o;
    }
    fn json(self) -> Json {
        match self {
            Assignee::Person(p) => json!({ "person": p }),
            Assignee::Organization(o) => json!({ "organization": o }),
        }
    }
}

/// The category with `code`; NOT_FOUND naming `field` when there is none.
pub async fn category_by_code(
    w: &Writer,
    code: &str,
    field: &str,
) -> ApiResult<incident_category::Model> {
    incident_category::Entity::find()
        .filter(incident_category::Column::Code.eq(code))
        .one(&w.txn)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::NotFoundField {
            what: "IncidentCategory".into(),
            field: field.to_owned(),
        })
}

/// The grid ids of a path (`/a/b/c/`), root first.
fn path_ids(path: &str) -> Vec<Uuid> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect()
}

/// Whom the responsibility list names for `category` in the grid with `path`: the line of the
/// deepest grid on the path (the grid itself first, then its ancestors up to the root); at the
/// same grid, a line of the category itself before one of its parent categories.
pub async fn route(
    w: &Writer,
    path: &str,
    category: &incident_category::Model,
) -> ApiResult<Option<Assignee>> {
    let grids = path_ids(path);
    let mut categories = vec![category.id];
    let mut parent = category.parent_id;
    // Categories nest a few levels at most; the bound also stops a cycle.
    while let Some(p) = parent {
        if categories.len() >= 8 || categories.contains(&p) {
            break;
        }
        categories.push(p);
        parent = incident_category::Entity::find_by_id(p)
            .one(&w.txn)
            .await
            .map_err(db)?
            .and_then(|c| c.parent_id);
    }
    let lines = responsibility::Entity::find()
        .filter(responsibility::Column::GridId.is_in(grids.clone()))
        .filter(responsibility::Column::CategoryId.is_in(categories.clone()))
        .all(&w.txn)
        .await
        .map_err(db)?;
    let rank = |r: &responsibility::Model| {
        let depth = grids.iter().position(|g| *g == r.grid_id).unwrap_or(0);
        let specific = categories.len()
            - categories
                .iter()
                .position(|c| *c == r.category_id)
                .unwrap_or(0);
        (depth, specific)
    };
    Ok(lines.iter().max_by_key(|r| rank(r)).and_then(|r| {
        r.person_id
            .map(Assignee::Person)
            .or(r.organization_id.map(Assignee::Organization))
    }))
}

/// A grid the incident refers to, whoever is asking: routing and escalation follow the
/// hierarchy, not the caller's view of it.
async fn grid_row(w: &Writer, id: Uuid) -> ApiResult<grid::Model> {
    grid::Entity::find_by_id(id)
        .one(&w.txn)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::internal("an incident's grid is missing"))
}

fn hours(h: i32) -> Duration {
    Duration::hours(i64::from(h.max(0)))
}

/// Reports an incident: routed by the responsibility list, deadlines from its category.
pub async fn report(w: &Writer, id: Uuid, r: Report) -> ApiResult<incident::Model> {
    let grid = w.get::<grid::Entity>(r.grid_id, "gridId").await?;
    let category = category_by_code(w, &r.category_code, "categoryCode").await?;
    let assignee = route(w, &grid.path, &category).await?;
    let caller = &w.actor.caller;
    let mut model = incident::Model {
        id,
        grid_id: grid.id,
        handling_grid_id: grid.id,
        category_id: category.id,
        title: r.title,
        description: r.description,
        latitude: r.latitude,
        longitude: r.longitude,
        address: r.address,
        severity: r.severity.unwrap_or(category.default_severity),
        source: r.source,
        status: S::Reported,
        reporter_person_id: caller.person_id,
        reporter_organization_id: if caller.role == Role::VolunteerOrg {
            caller.organization_id
        } else {
            None
        },
        reporter_credential: caller.id.clone(),
        contact_name: r.contact_name,
        contact_phone: r.contact_phone,
        assignee_person_id: None,
        assignee_organization_id: None,
        accepted_at: None,
        accept_due_at: w.now + hours(category.accept_hours),
        due_at: w.now + hours(category.close_hours),
        resolved_at: None,
        closed_at: None,
        satisfaction: None,
        escalations: 0,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    if let Some(a) = assignee {
        a.set(&mut model);
    }
    let model = w.insert::<incident::Entity>(model).await?;
    let details = json!({
        "categoryCode": category.code,
        "routedTo": assignee.map(Assignee::json),
    });
    event(w, &model, Kind::Reported, None, None, Some(details.clone())).await?;
    w.created::<incident::Entity>(&[id]).await?;
    w.audit(
        "reportIncident",
        "Incident",
        id,
        None,
        Some(snapshot(&model)),
        Some(details),
    )
    .await?;
    Ok(model)
}

/// Appends one history event for `m` as it is after the event.
async fn event(
    w: &Writer,
    m: &incident::Model,
    kind: Kind,
    from: Option<S>,
    comment: Option<String>,
    details: Option<Json>,
) -> ApiResult<()> {
    let row = incident_event::Model {
        id: Uuid::now_v7(),
        incident_id: m.id,
        position: m.version,
        kind,
        from_status: from,
        to_status: Some(m.status),
        actor: w.actor.id.clone(),
        comment,
        details: details.filter(|d| !d.is_null()).map(|d| d.to_string()),
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    w.insert::<incident_event::Entity>(row).await?;
    Ok(())
}

/// One step of the life cycle, as a mutation asks for it.
#[derive(Clone, Debug)]
pub enum Step {
    Accept,
    Reject { reason: String },
    Dispatch { assignee: Option<Assignee> },
    Start,
    Resolve,
    Verify,
    Close,
    Reopen,
    Escalate { reason: String },
    Rate { satisfaction: i32 },
}

impl Step {
    fn kind(&self) -> Kind {
        match self {
            Step::Accept => Kind::Accepted,
            Step::Reject { .. } => Kind::Rejected,
            Step::Dispatch { .. } => Kind::Dispatched,
            Step::Start => Kind::Started,
            Step::Resolve => Kind::Resolved,
            Step::Verify => Kind::Verified,
            Step::Close => Kind::Closed,
            Step::Reopen => Kind::Reopened,
            Step::Escalate { .. } => Kind::Escalated,
            Step::Rate { .. } => Kind::Rated,
        }
    }

    /// The mutation's name, for the audit trail.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Accept => "acceptIncident",
            Step::Reject { .. } => "rejectIncident",
            Step::Dispatch { .. } => "dispatchIncident",
            Step::Start => "startIncident",
            Step::Resolve => "resolveIncident",
            Step::Verify => "verifyIncident",
            Step::Close => "closeIncident",
            Step::Reopen => "reopenIncident",
            Step::Escalate { .. } => "escalateIncident",
            Step::Rate { .. } => "rateIncident",
        }
    }

    /// The statuses this step may start from, and the status it leads to (`None`: unchanged).
    pub fn rule(&self) -> (&'static [S], Option<S>) {
        match self {
            Step::Accept => (&[S::Reported, S::Escalated], Some(S::Accepted)),
            Step::Reject { .. } => (&[S::Reported, S::Escalated], Some(S::Rejected)),
            Step::Dispatch { .. } => (
                &[S::Accepted, S::Escalated, S::Reopened, S::Dispatched],
                Some(S::Dispatched),
            ),
            Step::Start => (&[S::Dispatched, S::Reopened], Some(S::InProgress)),
            Step::Resolve => (&[S::InProgress], Some(S::Resolved)),
            Step::Verify => (&[S::Resolved], Some(S::Verified)),
            // REPORTED → CLOSED only for a SIMPLE incident closed on the spot by the grid
            // worker who reported it (checked in `transition`).
            Step::Close => (&[S::Verified, S::Reported], Some(S::Closed)),
            Step::Reopen => (&[S::Resolved, S::Verified, S::Closed], Some(S::Reopened)),
            Step::Escalate { .. } => (
                &[
                    S::Reported,
                    S::Accepted,
                    S::Dispatched,
                    S::InProgress,
                    S::Reopened,
                    S::Escalated,
                ],
                Some(S::Escalated),
            ),
            Step::Rate { .. } => (&[S::Resolved, S::Verified, S::Closed], None),
        }
    }
}

fn conflict(message: String, reason: &'static str, current: S) -> ApiError {
    ApiError::Conflict {
        message,
        reason: Some(reason),
        details: vec![("currentStatus".into(), status_name(current).into())],
    }
}

fn forbidden(what: &str) -> ApiError {
    ApiError::Forbidden(format!("the caller may not {what} this incident"))
}

/// Whether the caller reported `m` itself.
pub fn reported_by_caller(w: &Writer, m: &incident::Model) -> bool {
    let c = &w.actor.caller;
    c.is_authenticated()
        && (m.reporter_credential == c.id
            || (c.person_id.is_some() && m.reporter_person_id == c.person_id))
}

/// Who may take `step` on `m`: managers (ADMIN, GRID_MANAGER in its subtrees — the lock only
/// finds rows in scope) take every step; the assigned organisation starts and resolves; the
/// reporter reopens and rates.
fn permitted(w: &Writer, step: &Step, m: &incident::Model) -> ApiResult<()> {
    let c = &w.actor.caller;
    if matches!(c.role, Role::Admin | Role::GridManager) {
        return Ok(());
    }
    let assigned = c.role == Role::VolunteerOrg
        && c.organization_id.is_some()
        && m.assignee_organization_id == c.organization_id;
    let ok = match step {
        Step::Start | Step::Resolve => assigned,
        Step::Reopen | Step::Rate { .. } => reported_by_caller(w, m),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(match step {
            Step::Start | Step::Resolve => "handle",
            Step::Reopen | Step::Rate { .. } => "reopen or rate",
            _ => "manage",
        }))
    }
}

/// Checks that `assignee` exists for the caller: a grid worker (a person with a grid
/// assignment) or an organisation.
async fn check_assignee(w: &Writer, a: Assignee) -> ApiResult<()> {
    match a {
        Assignee::Person(p) => {
            w.get::<person::Entity>(p, "assigneeId").await?;
            let worker = grid_assignment::Entity::find()
                .filter(grid_assignment::Column::PersonId.eq(p))
                .count(&w.txn)
                .await
                .map_err(db)?;
            if worker == 0 {
                return Err(ApiError::bad_input(
                    "assigneeId",
                    "`assigneeId` must be a grid worker or an organisation",
                ));
            }
        }
        Assignee::Organization(o) => {
            w.get::<organization::Entity>(o, "assigneeId").await?;
        }
    }
    Ok(())
}

/// Takes one step of an incident's life cycle.
pub async fn transition(
    w: &Writer,
    id: Uuid,
    step: Step,
    note: Option<String>,
    expected: Option<i32>,
) -> ApiResult<incident::Model> {
    let current = w.lock::<incident::Entity>(id).await?;
    check_version(current.version, expected)?;
    permitted(w, &step, &current)?;
    let (from, to) = step.rule();
    if !from.contains(&current.status) {
        let message = match to {
            Some(to) => format!(
                "a {} incident cannot become {}",
                status_name(current.status),
                status_name(to)
            ),
            None => format!(
                "a {} incident cannot be rated yet",
                status_name(current.status)
            ),
        };
        return Err(conflict(message, "INVALID_TRANSITION", current.status));
    }
    let mut next = current.clone();
    let mut details = Json::Null;
    if let Some(to) = to {
        next.status = to;
    }
    match &step {
        Step::Accept => next.accepted_at = Some(w.now),
        Step::Reject { reason } => {
            next.closed_at = Some(w.now);
            details = json!({ "reason": reason });
        }
        Step::Dispatch { assignee } => {
            let a = match assignee.or(Assignee::of(&current)) {
                Some(a) => a,
                None => {
                    let grid = w
                        .get::<grid::Entity>(current.handling_grid_id, "id")
                        .await?;
                    let category = incident_category::Entity::find_by_id(current.category_id)
                        .one(&w.txn)
                        .await
                        .map_err(db)?
                        .ok_or_else(|| ApiError::internal("an incident without its category"))?;
                    route(w, &grid.path, &category).await?.ok_or_else(|| {
                        ApiError::bad_input(
                            "assigneeId",
                            "the responsibility list names no one for this incident: give `assigneeId`",
                        )
                    })?
                }
            };
            if assignee.is_some() {
                check_assignee(w, a).await?;
            }
            a.set(&mut next);
            details = json!({ "assignee": a.json() });
        }
        Step::Start => {}
        Step::Resolve => next.resolved_at = Some(w.now),
        Step::Verify => {}
        Step::Close => {
            if current.status == S::Reported {
                let on_the_spot = current.severity == IncidentSeverity::Simple
                    && current.source == IncidentSource::GridWorker
                    && reported_by_caller(w, &current);
                if !on_the_spot {
                    return Err(conflict(
                        "only a SIMPLE incident may be closed at once, by the grid worker who reported it; others are verified first".into(),
                        "INVALID_TRANSITION",
                        current.status,
                    ));
                }
                next.accepted_at = Some(w.now);
                next.resolved_at = Some(w.now);
                details = json!({ "onTheSpot": true });
            }
            next.closed_at = Some(w.now);
        }
        Step::Reopen => {
            let since = current.closed_at.or(current.resolved_at).unwrap_or(w.now);
            if w.now - since > Duration::days(REOPEN_WINDOW_DAYS) {
                return Err(conflict(
                    format!(
                        "an incident can be reopened within {REOPEN_WINDOW_DAYS} days of its resolution or closure"
                    ),
                    "REOPEN_WINDOW_PASSED",
                    current.status,
                ));
            }
            next.closed_at = None;
            next.resolved_at = None;
        }
        Step::Escalate { reason } => {
            let handling = w
                .get::<grid::Entity>(current.handling_grid_id, "id")
                .await?;
            let ids = path_ids(&handling.path);
            let parent = match ids.len() {
                n if n >= 2 => ids[n - 2],
                _ => {
                    return Err(conflict(
                        "the incident is already handled at the top of the hierarchy".into(),
                        "NO_PARENT_GRID",
                        current.status,
                    ));
                }
            };
            let category = incident_category::Entity::find_by_id(current.category_id)
                .one(&w.txn)
                .await
                .map_err(db)?
                .ok_or_else(|| ApiError::internal("an incident without its category"))?;
            next.handling_grid_id = parent;
            next.escalations = current.escalations + 1;
            next.accept_due_at = w.now + hours(category.accept_hours);
            next.due_at = w.now + hours(category.close_hours);
            next.accepted_at = None;
            next.assignee_person_id = None;
            next.assignee_organization_id = None;
            // The parent grid's own line of the list, if it has one, is the default now.
            let parent_grid = grid_row(w, parent).await?;
            if let Some(a) = route(w, &parent_grid.path, &category).await? {
                a.set(&mut next);
            }
            details = json!({ "reason": reason, "toGridId": parent });
        }
        Step::Rate { satisfaction } => {
            next.satisfaction = Some(*satisfaction);
            details = json!({ "satisfaction": satisfaction });
        }
    }
    let audited = (!details.is_null()).then(|| details.clone());
    let saved = w
        .update_tracked::<incident::Entity>(step.action(), &current, next, audited)
        .await?;
    event(
        w,
        &saved,
        step.kind(),
        Some(current.status),
        note,
        Some(details),
    )
    .await?;
    Ok(saved)
}

/// Erases the contact data of the incidents `person` reported (with the person's own erasure):
/// contact name and phone are cleared, and so are the audit snapshots that held them. The
/// incidents stay, with their history; `version` is not bumped (history positions follow
/// versions), but the feed records the change so that copies refetch.
pub async fn erase_reporter(w: &Writer, person: Uuid) -> ApiResult<()> {
    use sea_orm::QuerySelect;
    let ids: Vec<Uuid> = incident::Entity::find()
        .select_only()
        .column(incident::Column::Id)
        .filter(incident::Column::ReporterPersonId.eq(person))
        .into_tuple()
        .all(&w.txn)
        .await
        .map_err(db)?;
    if ids.is_empty() {
        return Ok(());
    }
    for chunk in ids.chunks(500) {
        incident::Entity::update_many()
            .col_expr(
                incident::Column::ContactName,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                incident::Column::ContactPhone,
                Expr::value(Option::<String>::None),
            )
            .col_expr(incident::Column::UpdatedAt, Expr::value(w.now))
            .filter(incident::Column::Id.is_in(chunk.iter().copied()))
            .exec(&w.txn)
            .await
            .map_err(db)?;
        entity::audit_log::Entity::update_many()
            .col_expr(
                entity::audit_log::Column::Before,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                entity::audit_log::Column::After,
                Expr::value(Option::<String>::None),
            )
            .filter(entity::audit_log::Column::EntityType.eq("Incident"))
            .filter(entity::audit_log::Column::EntityId.is_in(chunk.iter().copied()))
            .exec(&w.txn)
            .await
            .map_err(db)?;
    }
    w.touched::<incident::Entity>(&ids).await
}

/// Sets (or replaces) the line of the responsibility list for `grid` × `category`.
pub async fn set_responsibility(
    w: &Writer,
    grid_id: Uuid,
    category_code: &str,
    assignee: Assignee,
    note: Option<String>,
) -> ApiResult<responsibility::Model> {
    w.get::<grid::Entity>(grid_id, "gridId").await?;
    let category = category_by_code(w, category_code, "categoryCode").await?;
    check_assignee(w, assignee).await?;
    let (person_id, organization_id) = match assignee {
        Assignee::Person(p) => (Some(p), None),
        Assignee::Organization(o) => (None, Some(o)),
    };
    let existing = responsibility::Entity::find()
        .filter(responsibility::Column::GridId.eq(grid_id))
        .filter(responsibility::Column::CategoryId.eq(category.id))
        .one(&w.txn)
        .await
        .map_err(db)?;
    let name = <responsibility::Entity as crate::store::Table>::NAME;
    match existing {
        Some(current) => {
            let next = responsibility::Model {
                person_id,
                organization_id,
                note,
                ..current.clone()
            };
            let saved = w
                .update::<responsibility::Entity>(next, current.version)
                .await?;
            w.audit(
                "setResponsibility",
                name,
                saved.id,
                Some(snapshot(&current)),
                Some(snapshot(&saved)),
                None,
            )
            .await?;
            Ok(saved)
        }
        None => {
            let row = responsibility::Model {
                id: Uuid::now_v7(),
                grid_id,
                category_id: category.id,
                organization_id,
                person_id,
                note,
                created_at: w.now,
                updated_at: w.now,
                version: 1,
            };
            let saved = w.insert::<responsibility::Entity>(row).await?;
            w.audit(
                "setResponsibility",
                name,
                saved.id,
                None,
                Some(snapshot(&saved)),
                None,
            )
            .await?;
            Ok(saved)
        }
    }
}

/// The scope of incidents in the change feed: placed by the grid they are in, visible to the
/// organisations they are assigned to or were reported by.
pub fn scope_query(ids: &[Uuid]) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, ExprTrait, Query, UnionType};
    let one = |org: incident::Column| {
        let mut q = Query::select();
        q.expr_as(
            Expr::col((incident::Entity, incident::Column::Id)),
            Alias::new("id"),
        )
        .expr_as(
            Expr::col((grid::Entity, grid::Column::Path)),
            Alias::new("path"),
        )
        .expr_as(Expr::col((incident::Entity, org)), Alias::new("org"))
        .expr_as(Expr::cust("1 = 0"), Alias::new("published"))
        .expr_as(Expr::cust("NULL"), Alias::new("service_id"))
        .from(incident::Entity)
        .inner_join(
            grid::Entity,
            Expr::col((grid::Entity, grid::Column::Id))
                .equals((incident::Entity, incident::Column::GridId)),
        )
        .and_where(Expr::col((incident::Entity, incident::Column::Id)).is_in(ids.iter().copied()));
        q
    };
    let mut q = one(incident::Column::AssigneeOrganizationId);
    q.union(
        UnionType::All,
        one(incident::Column::ReporterOrganizationId),
    );
    q
}

impl Tracked for incident::Entity {
    const TYPE: entity::EntityType = entity::EntityType::Incident;
    fn scope_query(ids: &[Uuid]) -> Option<sea_orm::sea_query::SelectStatement> {
        Some(scope_query(ids))
    }
}
