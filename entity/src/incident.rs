//! A problem reported in a grid, and where its handling stands.

use crate::{IncidentSeverity, IncidentSource, IncidentStatus};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "incident")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Where the problem is.
    pub grid_id: Uuid,
    /// The grid whose office is responsible now (the parent's after an escalation).
    pub handling_grid_id: Uuid,
    pub category_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub severity: IncidentSeverity,
    pub source: IncidentSource,
    pub status: IncidentStatus,
    pub reporter_person_id: Option<Uuid>,
    pub reporter_organization_id: Option<Uuid>,
    /// `Caller::id` of the credential that reported it.
    #[serde(skip)]
    pub reporter_credential: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub assignee_person_id: Option<Uuid>,
    pub assignee_organization_id: Option<Uuid>,
    pub accepted_at: Option<DateTimeUtc>,
    pub accept_due_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub satisfaction: Option<i32>,
    pub escalations: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
