//! Persisted GraphQL documents: automatic persisted queries registered by clients and trusted
//! documents pushed from a manifest (`gridgov documents push`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persisted_document")]
pub struct Model {
    /// The id clients send: the SHA-256 hex of `body` for automatic persisted queries, the
    /// manifest's key (opaque: Relay's default is MD5) for trusted documents.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The document text.
    pub body: String,
    /// The operation name the manifest gives, if any.
    pub operation_name: Option<String>,
    /// Pushed from a manifest (runs in `require` mode, never evicted) rather than registered
    /// by a client.
    pub trusted: bool,
    pub created_at: DateTimeUtc,
    /// When a server last loaded the document (updated at most hourly); eviction removes the
    /// least recently used registered documents first.
    pub last_used_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
