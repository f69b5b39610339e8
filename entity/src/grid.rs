//! A node of the administrative hierarchy: district, street, community or grid.

use crate::GridLevel;
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "grid")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub level: GridLevel,
    pub parent_id: Option<Uuid>,
    /// Ids of the ancestors and of the grid itself, each followed by `/`, root first
    /// (`/root/…/self/`): a subtree is the range of paths starting with its root's path.
    pub path: String,
    /// GeoJSON geometry as JSON text.
    #[sea_orm(column_type = "Text", nullable)]
    pub boundary: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
