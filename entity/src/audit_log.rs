//! One entry per mutation, written in the same transaction as the change it records.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who made the change (the caller's identity as far as it is known).
    pub actor: String,
    /// The mutation, e.g. `createService`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    /// Field values before the change (JSON object; personal data masked), null for creations.
    #[sea_orm(column_type = "Text", nullable)]
    pub before: Option<String>,
    /// Field values after the change, null for deletions.
    #[sea_orm(column_type = "Text", nullable)]
    pub after: Option<String>,
    /// Extra context, e.g. the reason of a cancellation (JSON object).
    #[sea_orm(column_type = "Text", nullable)]
    pub details: Option<String>,
    /// The server's id of the request (a UUID v7).
    pub request_id: String,
    /// The `x-request-id` the client sent, when it was a sane token (at most 128 characters).
    #[sea_orm(nullable)]
    pub client_request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
