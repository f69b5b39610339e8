//! An API key of a partner system. Only the SHA-256 hash of the key is stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// SHA-256 of the whole key, hex.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// `ADMIN`, `GRID_MANAGER`, `VOLUNTEER_ORG`, `AGENCY` or `PUBLIC`.
    pub role: String,
    /// Codes of the grids whose subtrees the key may reach (JSON array).
    #[sea_orm(column_type = "Text")]
    pub grid_codes: String,
    pub organization_id: Option<Uuid>,
    /// Scopes such as `pii:read` (JSON array).
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// The key that `gridgov apikey rotate` issued to replace this one.
    pub replaced_by: Option<Uuid>,
    /// End of a replaced key's grace period: it is refused from then on.
    pub grace_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
