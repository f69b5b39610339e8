//! One unmasked read of a person's personal data: who, whose, which fields, when, in which request.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pii_access_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub actor: String,
    pub person_id: Uuid,
    /// Comma-separated field names, e.g. `idNumber,phone`.
    pub fields: String,
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
