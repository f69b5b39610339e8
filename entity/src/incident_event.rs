//! One entry of an incident's history: a transition or a rating, with who did it and why.
//! Written once, never updated.

use crate::{IncidentEventKind, IncidentStatus};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "incident_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub incident_id: Uuid,
    /// The incident's version after the event: orders the history.
    pub position: i32,
    pub kind: IncidentEventKind,
    pub from_status: Option<IncidentStatus>,
    pub to_status: Option<IncidentStatus>,
    pub actor: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    /// JSON: the event's own facts (assignee, reason, satisfaction…).
    #[sea_orm(column_type = "Text", nullable)]
    pub details: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
