//! Row visibility compiled to SQL: each table says how its rows are anchored (to a grid, to an
//! organisation, to publication), [`super::ROWS`] says which anchor each role is held to, and
//! [`Scoped::visible`] combines the two. Counts, pages and totals never include rows the caller
//! cannot see, and an object out of scope looks exactly like a missing one.
//!
//! The change feed is compiled from the same rules ([`feed_visible`]): each change records the
//! object's anchors before and after it (`store::changes`), and a caller sees a change when the
//! rule of the object's table admits either.

use super::{Rows, Table as Governed, rows_of};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::store::Table;
use crate::store::filters::{grid_id_in_subtree, path_in_subtree};
use entity::*;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

/// Statuses of services that have been made public.
pub const PUBLISHED: [ServiceStatus; 3] = [
    ServiceStatus::Published,
    ServiceStatus::InProgress,
    ServiceStatus::Completed,
];

fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// A table whose rows are visible to some callers only.
pub trait Scoped: Table {
    /// The policy's name of this table.
    const GOVERNED: Governed;

    /// Rows placed in the caller's grid subtrees; `None` when the table has no grid anchor.
    fn in_subtrees(_caller: &Caller) -> Option<Condition> {
        None
    }
    /// Rows of organisation `org`; `None` when the table has no organisation anchor.
    fn of_organization(_org: uuid::Uuid) -> Option<Condition> {
        None
    }
    /// Published rows; `None` when the table has no publication.
    fn published() -> Option<Condition> {
        None
    }
    /// Rows the caller reported itself; `None` when the table has no reporter.
    fn own_reports(_caller: &Caller) -> Option<Condition> {
        None
    }
    /// A condition every visible row meets whatever the role (erased people are gone).
    fn live() -> Option<Condition> {
        None
    }

    /// The rows `caller` may see.
    fn visible(caller: &Caller) -> Condition {
        let anchors = Anchors {
            in_subtrees: &|| Self::in_subtrees(caller),
            own: &|org| Self::of_organization(org),
            published: &Self::published,
            reports: &|| Self::own_reports(caller),
        };
        let rule =
            compile(rows_of(Self::GOVERNED, caller.role), caller, anchors).unwrap_or_else(nothing);
        match Self::live() {
            Some(live) => Condition::all().add(live).add(rule),
            None => rule,
        }
    }

    /// Refuses a caller whose role may not read this table at all (`FORBIDDEN`).
    fn readable(caller: &Caller) -> ApiResult<()> {
        if rows_of(Self::GOVERNED, caller.role) == Rows::Forbidden {
            return Err(ApiError::Forbidden(format!(
                "the {} role receives statistics only and cannot read {}",
                caller.role,
                Self::GOVERNED.label()
            )));
        }
        Ok(())
    }
}

/// How one table (or the change feed's recorded scope) places a row: in grid subtrees, under
/// an organisation, published. `None` from an anchor: the table has no such anchor.
struct Anchors<'a> {
    in_subtrees: &'a dyn Fn() -> Option<Condition>,
    own: &'a dyn Fn(uuid::Uuid) -> Option<Condition>,
    published: &'a dyn Fn() -> Option<Condition>,
    reports: &'a dyn Fn() -> Option<Condition>,
}

/// The condition a row rule puts on `caller`, through `anchors`; `None` admits nothing.
fn compile(rule: Rows, caller: &Caller, anchors: Anchors<'_>) -> Option<Condition> {
    let own = || caller.organization_id.and_then(|org| (anchors.own)(org));
    match rule {
        Rows::All => Some(Condition::all()),
        Rows::Hidden | Rows::Forbidden => None,
        Rows::InSubtrees if caller.grids.is_empty() => None,
        Rows::InSubtrees => (anchors.in_subtrees)(),
        Rows::OwnOrganization => own(),
        Rows::Published => (anchors.published)(),
        Rows::OwnReports => (anchors.reports)(),
        Rows::PublishedOrOwn => match ((anchors.published)(), own()) {
            (None, None) => None,
            (p, o) => Some(
                p.into_iter()
                    .chain(o)
                    .fold(Condition::any(), Condition::add),
            ),
        },
    }
}

/// Rows whose grid column lies in one of the caller's subtrees.
fn grid_in_subtrees(caller: &Caller, grid_col: impl ColumnTrait + Copy) -> Condition {
    caller.grids.iter().fold(Condition::any(), |c, g| {
        c.add(grid_id_in_subtree(grid_col, g.id))
    })
}

/// `SELECT id FROM E WHERE cond`.
fn ids_where<E: Table>(cond: Condition) -> SelectStatement {
    let mut q = Query::select();
    q.column(E::id_col()).from(E::default()).cond_where(cond);
    q
}

/// People who are members of `org`.
fn members_of(org: uuid::Uuid) -> SelectStatement {
    let mut q = Query::select();
    q.column(membership::Column::PersonId)
        .from(membership::Entity)
        .and_where(membership::Column::OrganizationId.eq(org));
    q
}

impl Scoped for grid::Entity {
    const GOVERNED: Governed = Governed::Grid;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(c.grids.iter().fold(Condition::any(), |cond, g| {
            cond.add(path_in_subtree(
                Expr::col((grid::Entity, grid::Column::Path)),
                g.id,
            ))
        }))
    }
}

impl Scoped for person::Entity {
    const GOVERNED: Governed = Governed::Person;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(grid_in_subtrees(c, person::Column::GridId))
    }
    fn of_organization(org: uuid::Uuid) -> Option<Condition> {
        Some(Condition::all().add(person::Column::Id.in_subquery(members_of(org))))
    }
    fn live() -> Option<Condition> {
        Some(Condition::all().add(person::Column::ErasedAt.is_null()))
    }
}

/// Tags and memberships follow the person they belong to.
fn person_visible(caller: &Caller, person_col: impl ColumnTrait) -> Condition {
    Condition::all()
        .add(person_col.in_subquery(ids_where::<person::Entity>(person::Entity::visible(caller))))
}

impl Scoped for person_tag::Entity {
    const GOVERNED: Governed = Governed::PersonTag;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(person_visible(c, person_tag::Column::PersonId))
    }
    fn of_organization(org: uuid::Uuid) -> Option<Condition> {
        Some(Condition::all().add(person_tag::Column::PersonId.in_subquery(members_of(org))))
    }
    fn live() -> Option<Condition> {
        let erased = ids_where::<person::Entity>(
            Condition::all().add(person::Column::ErasedAt.is_not_null()),
        );
        Some(Condition::all().add(person_tag::Column::PersonId.not_in_subquery(erased)))
    }
}

impl Scoped for organization::Entity {
    const GOVERNED: Governed = Governed::Organization;
}

impl Scoped for membership::Entity {
    const GOVERNED: Governed = Governed::Membership;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(person_visible(c, membership::Column::PersonId))
    }
    fn of_organization(org: uuid::Uuid) -> Option<Condition> {
        Some(Condition::all().add(membership::Column::OrganizationId.eq(org)))
    }
}

impl Scoped for grid_assignment::Entity {
    const GOVERNED: Governed = Governed::GridAssignment;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(grid_in_subtrees(c, grid_assignment::Column::GridId))
    }
}

impl Scoped for service::Entity {
    const GOVERNED: Governed = Governed::Service;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(grid_in_subtrees(c, service::Column::GridId))
    }
    fn of_organization(org: uuid::Uuid) -> Option<Condition> {
        Some(Condition::all().add(service::Column::OrganizerId.eq(org)))
    }
    fn published() -> Option<Condition> {
        Some(Condition::all().add(service::Column::Status.is_in(PUBLISHED)))
    }
}

impl Scoped for participation::Entity {
    const GOVERNED: Governed = Governed::Participation;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        let services = ids_where::<service::Entity>(grid_in_subtrees(c, service::Column::GridId));
        Some(Condition::all().add(participation::Column::ServiceId.in_subquery(services)))
    }
    fn of_organization(org: uuid::Uuid) -> Option<Condition> {
        Some(Condition::all().add(participation::Column::OrganizationId.eq(org)))
    }
}

impl Scoped for incident::Entity {
    const GOVERNED: Governed = Governed::Incident;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(grid_in_subtrees(c, incident::Column::GridId))
    }
    fn of_organization(org: uuid::Uuid) -> Option<Condition> {
        Some(
            Condition::any()
                .add(incident::Column::AssigneeOrganizationId.eq(org))
                .add(incident::Column::ReporterOrganizationId.eq(org)),
        )
    }
    fn own_reports(c: &Caller) -> Option<Condition> {
        if !c.is_authenticated() {
            return None;
        }
        let mut cond = Condition::any().add(incident::Column::ReporterCredential.eq(c.id.as_str()));
        if let Some(person) = c.person_id {
            cond = cond.add(incident::Column::ReporterPersonId.eq(person));
        }
        Some(cond)
    }
}

/// History entries follow their incident.
impl Scoped for incident_event::Entity {
    const GOVERNED: Governed = Governed::Incident;
    fn visible(caller: &Caller) -> Condition {
        Condition::all().add(incident_event::Column::IncidentId.in_subquery(ids_where::<
            incident::Entity,
        >(
            incident::Entity::visible(caller),
        )))
    }
}

impl Scoped for incident_category::Entity {
    const GOVERNED: Governed = Governed::IncidentCategory;
}

impl Scoped for responsibility::Entity {
    const GOVERNED: Governed = Governed::Responsibility;
    fn in_subtrees(c: &Caller) -> Option<Condition> {
        Some(grid_in_subtrees(c, responsibility::Column::GridId))
    }
}

impl Scoped for audit_log::Entity {
    const GOVERNED: Governed = Governed::AuditLog;
}

impl Scoped for pii_access_log::Entity {
    const GOVERNED: Governed = Governed::PiiAccessLog;
}

/// The policy table of each type the change feed carries.
pub fn feed_table(t: EntityType) -> Governed {
    match t {
        EntityType::Grid => Governed::Grid,
        EntityType::Person => Governed::Person,
        EntityType::Organization => Governed::Organization,
        EntityType::Service => Governed::Service,
        EntityType::Participation => Governed::Participation,
        EntityType::Incident => Governed::Incident,
    }
}

/// Every type the change feed carries.
pub const FEED_TYPES: [EntityType; 6] = [
    EntityType::Grid,
    EntityType::Person,
    EntityType::Organization,
    EntityType::Service,
    EntityType::Participation,
    EntityType::Incident,
];

/// Changes of the feed and of subscriptions `caller` sees: for each type, the rule of its table
/// applied to the anchors recorded with the change before or after it.
pub fn feed_visible(caller: &Caller) -> Condition {
    use change_event::Column as C;
    let in_subtrees = || {
        Some(caller.grids.iter().fold(Condition::any(), |cond, g| {
            // Paths hold only hex digits, '-' and '/': no LIKE wildcards to escape.
            let prefix = format!("{}%", g.path);
            cond.add(C::PathBefore.like(prefix.clone()))
                .add(C::PathAfter.like(prefix))
        }))
    };
    let own = |org: uuid::Uuid| Some(Condition::all().add(C::Orgs.like(format!("%,{org},%"))));
    let published = || Some(Condition::all().add(C::Published.eq(true)));
    let mut any = Condition::any();
    for t in FEED_TYPES {
        // The feed records no reporter: a caller held to its own reports follows them by
        // reading `incidents`, not the feed.
        let anchors = Anchors {
            in_subtrees: &in_subtrees,
            own: &own,
            published: &published,
            reports: &|| None,
        };
        if let Some(rule) = compile(rows_of(feed_table(t), caller.role), caller, anchors) {
            let mut of_type = Condition::all().add(C::EntityType.eq(t)).add(rule);
            // A change that only moved a count of participants would count registrations,
            // one by one, for a role that may not read participations.
            if rows_of(Governed::Participation, caller.role) == Rows::Forbidden {
                of_type = of_type.add(C::CountsOnly.eq(false));
            }
            any = any.add(of_type);
        }
    }
    if any.is_empty() {
        return nothing();
    }
    any
}

/// Refuses a feed request for types `caller` may not read at all.
pub fn feed_readable(caller: &Caller, types: &[EntityType]) -> ApiResult<()> {
    for t in types {
        if rows_of(feed_table(*t), caller.role) == Rows::Forbidden {
            return Err(ApiError::Forbidden(format!(
                "the {} role receives statistics only and cannot follow changes of {}",
                caller.role,
                feed_table(*t).label()
            )));
        }
    }
    Ok(())
}

/// Whether a role is held to statistics only (no personal rows at all).
pub fn statistics_only(role: Role) -> bool {
    rows_of(Governed::Person, role) == Rows::Forbidden
}
