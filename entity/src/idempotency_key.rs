//! Idempotency keys of create mutations, per caller: the same key with the same input returns
//! the original result; the same key with another input is refused.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub caller: String,
    /// The client's key.
    pub key: String,
    /// The mutation the key was used with.
    pub operation: String,
    /// SHA-256 of the canonical JSON of the input (without the key).
    pub request_hash: String,
    /// Id of the object the first request created.
    pub result_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
