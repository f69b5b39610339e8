//! One row per object a committed mutation created, changed or deleted: the change feed and the
//! source of subscription events.
//!
//! Rows are written in the mutation's transaction with `seq` null (and listed in
//! `change_pending`) and numbered after commit by
//! one serialised statement (`store::changes::stamp`), so `seq` order is commit order: a reader
//! that has seen `seq` N never later finds a new row below N.

use crate::{ChangeKind, EntityType};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Position in the feed, assigned after commit; null until then.
    pub seq: Option<i64>,
    pub entity_type: EntityType,
    pub entity_id: Uuid,
    pub kind: ChangeKind,
    /// The service of a participation (or the service itself), for subscription filters.
    pub service_id: Option<Uuid>,
    /// Path of the grid that places the object in the hierarchy, before the change.
    #[sea_orm(column_type = "Text", nullable)]
    pub path_before: Option<String>,
    /// The same path after the change (null for deletions).
    #[sea_orm(column_type = "Text", nullable)]
    pub path_after: Option<String>,
    /// Organisations whose callers see the object before or after the change, as `,id,id,`.
    #[sea_orm(column_type = "Text")]
    pub orgs: String,
    /// A service that was published before or after the change.
    pub published: bool,
    /// The change only moved a count of people (a service's `participantCount`): hidden from
    /// roles that may not read participations.
    pub counts_only: bool,
    pub request_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
