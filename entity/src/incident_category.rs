//! A kind of incident, with the deadlines its incidents get.

use crate::IncidentSeverity;
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "incident_category")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub parent_id: Option<Uuid>,
    pub default_severity: IncidentSeverity,
    /// Hours from report to acceptance.
    pub accept_hours: i32,
    /// Hours from report (or escalation) to closure.
    pub close_hours: i32,
    /// Whether anonymous Open311 clients may list its incidents (without personal data).
    pub publicly_listed: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
