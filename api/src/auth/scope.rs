//! What each role may see, as SQL conditions: counts, pages and totals never include rows the
//! caller cannot see, and an object out of scope looks exactly like a missing one.
//!
//! | table | ADMIN | GRID_MANAGER | VOLUNTEER_ORG | AGENCY | PUBLIC |
//! |---|---|---|---|---|---|
//! | grid | all | its subtrees | all | all | all |
//! | person (+ tags) | all | home grid in its subtrees | members of its organisation | all, de-identified | none |
//! | organization | all | all | all | all | none |
//! | membership | all | person in its subtrees | of its organisation | none | none |
//! | grid_assignment | all | grid in its subtrees | none | all | none |
//! | service | all | grid in its subtrees | published, or organised by it | all | published |
//! | participation | all | service in its subtrees | registered by its organisation | none | none |
//! | audit_log | all | none | none | none | none |
//!
//! "Published" means PUBLISHED, IN_PROGRESS or COMPLETED.

use super::{Caller, Role};
use crate::store::Table;
use crate::store::filters::{grid_id_in_subtree, path_in_subtree};
use entity::*;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition};

/// A table whose rows are visible to some callers only.
pub trait Scoped: Table {
    fn visible(caller: &Caller) -> Condition;
}

fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// Rows whose grid column lies in one of the caller's subtrees.
fn in_subtrees(caller: &Caller, grid_col: impl ColumnTrait + Copy) -> Condition {
    if caller.grids.is_empty() {
        return nothing();
    }
    caller.grids.iter().fold(Condition::any(), |c, g| {
        c.add(grid_id_in_subtree(grid_col, g.id))
    })
}

/// Statuses of services that have been made public.
pub const PUBLISHED: [ServiceStatus; 3] = [
    ServiceStatus::Published,
    ServiceStatus::InProgress,
    ServiceStatus::Completed,
];

fn own_org(caller: &Caller, col: impl ColumnTrait) -> Condition {
    match caller.organization_id {
        Some(org) => Condition::all().add(col.eq(org)),
        None => nothing(),
    }
}

impl Scoped for grid::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::GridManager if c.grids.is_empty() => nothing(),
            Role::GridManager => c.grids.iter().fold(Condition::any(), |cond, g| {
                cond.add(path_in_subtree(
                    Expr::col((grid::Entity, grid::Column::Path)),
                    g.id,
                ))
            }),
            _ => Condition::all(),
        }
    }
}

/// Members of the caller's organisation.
fn members(c: &Caller, person_col: impl ColumnTrait) -> Condition {
    let Some(org) = c.organization_id else {
        return nothing();
    };
    let mut q = Query::select();
    q.column(membership::Column::PersonId)
        .from(membership::Entity)
        .and_where(membership::Column::OrganizationId.eq(org));
    Condition::all().add(person_col.in_subquery(q))
}

impl Scoped for person::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin | Role::Agency => Condition::all(),
            Role::GridManager => in_subtrees(c, person::Column::GridId),
            Role::VolunteerOrg => members(c, person::Column::Id),
            Role::Public => nothing(),
        }
    }
}

impl Scoped for person_tag::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin | Role::Agency => Condition::all(),
            Role::Public => nothing(),
            _ => {
                let mut q = Query::select();
                q.column(person::Column::Id)
                    .from(person::Entity)
                    .cond_where(person::Entity::visible(c));
                Condition::all().add(person_tag::Column::PersonId.in_subquery(q))
            }
        }
    }
}

impl Scoped for organization::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Public => nothing(),
            _ => Condition::all(),
        }
    }
}

impl Scoped for membership::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin => Condition::all(),
            Role::GridManager => {
                let mut q = Query::select();
                q.column(person::Column::Id)
                    .from(person::Entity)
                    .cond_where(person::Entity::visible(c));
                Condition::all().add(membership::Column::PersonId.in_subquery(q))
            }
            Role::VolunteerOrg => own_org(c, membership::Column::OrganizationId),
            Role::Agency | Role::Public => nothing(),
        }
    }
}

impl Scoped for grid_assignment::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin | Role::Agency => Condition::all(),
            Role::GridManager => in_subtrees(c, grid_assignment::Column::GridId),
            Role::VolunteerOrg | Role::Public => nothing(),
        }
    }
}

impl Scoped for service::Entity {
    fn visible(c: &Caller) -> Condition {
        let published = Condition::all().add(service::Column::Status.is_in(PUBLISHED));
        match c.role {
            Role::Admin | Role::Agency => Condition::all(),
            Role::GridManager => in_subtrees(c, service::Column::GridId),
            Role::VolunteerOrg => Condition::any()
                .add(published)
                .add(own_org(c, service::Column::OrganizerId)),
            Role::Public => published,
        }
    }
}

impl Scoped for participation::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin => Condition::all(),
            Role::GridManager => {
                let mut q = Query::select();
                q.column(service::Column::Id)
                    .from(service::Entity)
                    .cond_where(in_subtrees(c, service::Column::GridId));
                Condition::all().add(participation::Column::ServiceId.in_subquery(q))
            }
            Role::VolunteerOrg => own_org(c, participation::Column::OrganizationId),
            Role::Agency | Role::Public => nothing(),
        }
    }
}

impl Scoped for audit_log::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin => Condition::all(),
            _ => nothing(),
        }
    }
}

impl Scoped for pii_access_log::Entity {
    fn visible(c: &Caller) -> Condition {
        match c.role {
            Role::Admin => Condition::all(),
            _ => nothing(),
        }
    }
}

/// Changes of the feed and of subscriptions: a caller sees a change when it could see the object
/// before or after it, judged by the scope recorded with the change (`store::changes`).
impl Scoped for change_event::Entity {
    fn visible(c: &Caller) -> Condition {
        use change_event::Column as C;
        let of = |types: &[EntityType]| Condition::all().add(C::EntityType.is_in(types.to_vec()));
        let in_subtrees = || {
            c.grids.iter().fold(Condition::any(), |cond, g| {
                // Paths hold only hex digits, '-' and '/': no LIKE wildcards to escape.
                let prefix = format!("{}%", g.path);
                cond.add(C::PathBefore.like(prefix.clone()))
                    .add(C::PathAfter.like(prefix))
            })
        };
        let of_own_org = || match c.organization_id {
            Some(org) => Condition::all().add(C::Orgs.like(format!("%,{org},%"))),
            None => nothing(),
        };
        match c.role {
            Role::Admin => Condition::all(),
            Role::Agency => of(&[
                EntityType::Grid,
                EntityType::Person,
                EntityType::Organization,
                EntityType::Service,
            ]),
            Role::Public => Condition::any()
                .add(of(&[EntityType::Grid]))
                .add(of(&[EntityType::Service]).add(C::Published.eq(true))),
            Role::GridManager if c.grids.is_empty() => of(&[EntityType::Organization]),
            Role::GridManager => Condition::any().add(of(&[EntityType::Organization])).add(
                of(&[
                    EntityType::Grid,
                    EntityType::Person,
                    EntityType::Service,
                    EntityType::Participation,
                ])
                .add(in_subtrees()),
            ),
            Role::VolunteerOrg => Condition::any()
                .add(of(&[EntityType::Grid, EntityType::Organization]))
                .add(
                    of(&[EntityType::Service]).add(
                        Condition::any()
                            .add(C::Published.eq(true))
                            .add(of_own_org()),
                    ),
                )
                .add(of(&[EntityType::Person, EntityType::Participation]).add(of_own_org())),
        }
    }
}
