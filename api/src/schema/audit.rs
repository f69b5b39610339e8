//! The audit trail: one entry per mutation, written in the mutation's transaction.

use super::RequestCtx;
use super::relay::{Connection, NodeObject, decode_global_id, gid, global_id};
use super::scalars::{DateTime, Order, order_field, order_spec};
use crate::error::ApiResult;
use crate::store::page::PageRequest;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use entity::audit_log;
use gridgov_macros::{connections, node};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

#[derive(Clone)]
pub struct AuditEntry(pub audit_log::Model);

impl NodeObject for AuditEntry {
    type Entity = audit_log::Entity;
    fn from_model(m: audit_log::Model) -> Self {
        AuditEntry(m)
    }
}

/// What `auditLog` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AuditEntryOrderField {
    /// When the mutation ran.
    CreatedAt,
}
order_field!(AuditEntryOrderField, audit_log::Entity, default = (CreatedAt, Asc), {
    CreatedAt => (audit_log::Column::CreatedAt, "CREATED_AT"),
});

/// Filter of the audit trail; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Entries about this object (any type's global id).
    pub entity_id: Option<ID>,
    /// Entries about objects of this type, e.g. `Service`.
    pub entity_type: Option<String>,
    /// Entries of this mutation, e.g. `registerParticipation`.
    pub action: Option<String>,
    /// At or after this instant.
    pub from: Option<DateTime>,
    /// Strictly before this instant.
    pub to: Option<DateTime>,
}

impl AuditLogFilter {
    fn apply(self, mut select: Select<audit_log::Entity>) -> ApiResult<Select<audit_log::Entity>> {
        if let Some(id) = &self.entity_id {
            let (kind, key) = decode_global_id(id, "filter.entityId")?;
            select = select
                .filter(audit_log::Column::EntityId.eq(key))
                .filter(audit_log::Column::EntityType.eq(kind));
        }
        if let Some(t) = self.entity_type {
            select = select.filter(audit_log::Column::EntityType.eq(t));
        }
        if let Some(a) = self.action {
            select = select.filter(audit_log::Column::Action.eq(a));
        }
        if let Some(DateTime(t)) = self.from {
            select = select.filter(audit_log::Column::CreatedAt.gte(t));
        }
        if let Some(DateTime(t)) = self.to {
            select = select.filter(audit_log::Column::CreatedAt.lt(t));
        }
        Ok(select)
    }
}

fn json(text: &Option<String>) -> Option<Json<serde_json::Value>> {
    text.as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .map(Json)
}

/// One mutation's record in the audit trail: who changed what, with the values before and after
/// (personal data masked). Readable by ADMIN; `FORBIDDEN` to AGENCY; other roles see no entries.
#[node(id)]
#[Object]
impl AuditEntry {
    /// Who made the change.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// The mutation, e.g. `createService`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// Type of the object changed, e.g. `Service` (the `__typename` of `entityId`'s object).
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// Global id of the object changed.
    async fn entity_id(&self) -> ID {
        global_id(&self.0.entity_type, self.0.entity_id)
    }
    /// Field values before the change (null for creations); personal data masked.
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.before)
    }
    /// Field values after the change (null for deletions); personal data masked.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.after)
    }
    /// Extra context, such as the reason of a cancellation.
    async fn details(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.details)
    }
    /// The server's id of the request that made the change (its `x-request-id` response
    /// header).
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
    /// The `x-request-id` the client sent with that request, if any: the client's own label,
    /// not an identity the server vouches for.
    async fn client_request_id(&self) -> Option<&str> {
        self.0.client_request_id.as_deref()
    }
    /// When the mutation ran (its transaction's time).
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[connections]
#[Object]
impl AuditQuery {
    /// The audit trail, oldest first by default. ADMIN only: `FORBIDDEN` to AGENCY, empty for
    /// other roles.
    #[connection]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<AuditLogFilter>,
        #[graphql(desc = "Sort order (default `CREATED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<AuditEntryOrderField>>,
    ) -> ApiResult<Connection<AuditEntry>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter
            .unwrap_or_default()
            .apply(audit_log::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}

/// One unmasked read of a person's personal data.
#[derive(Clone)]
pub struct PiiAccess(pub entity::pii_access_log::Model);

impl NodeObject for PiiAccess {
    type Entity = entity::pii_access_log::Entity;
    fn from_model(m: entity::pii_access_log::Model) -> Self {
        PiiAccess(m)
    }
}

/// What `piiAccessLog` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PiiAccessOrderField {
    /// When the data was read.
    CreatedAt,
}
order_field!(PiiAccessOrderField, entity::pii_access_log::Entity, default = (CreatedAt, Asc), {
    CreatedAt => (entity::pii_access_log::Column::CreatedAt, "CREATED_AT"),
});

/// Filter of the PII access log; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct PiiAccessFilter {
    /// Reads of this person's data.
    pub person_id: Option<ID>,
    /// Reads by this caller (as in `AuditEntry.actor`).
    pub actor: Option<String>,
    /// Reads at or after this instant.
    pub from: Option<DateTime>,
    /// Reads strictly before this instant.
    pub to: Option<DateTime>,
}

/// One request that showed a person's personal data unmasked (PIPL access record). Readable by
/// ADMIN only.
#[node(id)]
#[Object]
impl PiiAccess {
    /// Who read the data.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// Whose data was read.
    async fn person_id(&self) -> ID {
        gid::<entity::person::Entity>(self.0.person_id)
    }
    /// Which fields were shown unmasked.
    async fn fields(&self) -> Vec<&str> {
        self.0.fields.split(',').collect()
    }
    /// The server's id of the request that read the data.
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
    /// The `x-request-id` the client sent with that request, if any.
    async fn client_request_id(&self) -> Option<&str> {
        self.0.client_request_id.as_deref()
    }
    /// When the data was read (the end of the request).
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

#[derive(Default)]
pub struct PiiAccessQuery;

#[connections]
#[Object]
impl PiiAccessQuery {
    /// Every unmasked read of personal data (ADMIN only; empty for others).
    #[connection]
    async fn pii_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<PiiAccessFilter>,
        #[graphql(desc = "Sort order (default `CREATED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<PiiAccessOrderField>>,
    ) -> ApiResult<Connection<PiiAccess>> {
        use entity::pii_access_log as log;
        let page = PageRequest::new(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut select = log::Entity::find();
        if let Some(p) = &f.person_id {
            select = select.filter(log::Column::PersonId.eq(super::relay::id_of::<
                entity::person::Entity,
            >(p, "filter.personId")?));
        }
        if let Some(a) = f.actor {
            select = select.filter(log::Column::Actor.eq(a));
        }
        if let Some(DateTime(t)) = f.from {
            select = select.filter(log::Column::CreatedAt.gte(t));
        }
        if let Some(DateTime(t)) = f.to {
            select = select.filter(log::Column::CreatedAt.lt(t));
        }
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
