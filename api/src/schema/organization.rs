//! Organisations, their members, and the people responsible for grids.

use super::RequestCtx;
use super::grid::Grid;
use super::person::Person;
use super::relay::{Connection, NodeObject, global_id, id_of};
use super::scalars::{
    Date, GridWorkerRole, MembershipRole, Order, OrganizationKind, order_field, order_spec,
    search_text,
};
use super::service::{Service, ServiceFilter, ServiceOrderField};
use crate::error::ApiResult;
use crate::loaders::ById;
use crate::policy::Field;
use crate::store::filters;
use crate::store::page::PageRequest;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{grid, grid_assignment, membership, organization, person, service};
use sea_orm::sea_query::IntoColumnRef;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

#[derive(Clone)]
pub struct Organization(pub organization::Model);

impl NodeObject for Organization {
    type Entity = organization::Entity;
    fn from_model(m: organization::Model) -> Self {
        Organization(m)
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrganizationOrderField {
    CreatedAt,
    Name,
}
order_field!(OrganizationOrderField, organization::Entity, default = (Name, Asc), {
    CreatedAt => (organization::Column::CreatedAt, "CREATED_AT"),
    Name => (organization::Column::Name, "NAME"),
});

#[derive(InputObject, Default)]
pub struct OrganizationFilter {
    pub kind: Option<OrganizationKind>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

impl OrganizationFilter {
    pub fn apply(
        self,
        mut select: Select<organization::Entity>,
    ) -> ApiResult<Select<organization::Entity>> {
        if let Some(kind) = self.kind {
            select =
                select.filter(organization::Column::Kind.eq(entity::OrganizationKind::from(kind)));
        }
        if let Some(s) = &self.search {
            select = select.filter(filters::search(
                &[organization::Column::Name],
                &search_text(s, "filter.search")?,
            ));
        }
        Ok(select)
    }
}

impl Organization {
    fn contact(
        &self,
        ctx: &Context<'_>,
        field: Field,
        value: &Option<String>,
        mask: Option<fn(&str) -> String>,
    ) -> ApiResult<Option<String>> {
        let rq = RequestCtx::of(ctx)?;
        let own = rq.actor.caller.organization_id == Some(self.0.id);
        Ok(super::person::reveal_for(
            rq,
            self.0.id,
            field,
            value.as_deref(),
            mask,
            own,
        ))
    }
}

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        global_id("Organization", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> OrganizationKind {
        self.0.kind.into()
    }
    /// The contact person's name: personal data, shown by the rules of a person's name (see
    /// `docs/security.md`).
    async fn contact_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.contact(
            ctx,
            Field::OrganizationContactName,
            &self.0.contact_name,
            None,
        )
    }
    /// The contact person's mobile number: masked (`138****5678`) unless the caller is ADMIN
    /// with `pii:read` (then the read is written to the PII access log under this
    /// organisation's id).
    async fn contact_phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.contact(
            ctx,
            Field::OrganizationContactPhone,
            &self.0.contact_phone,
            Some(crate::validate::mask_phone),
        )
    }
    /// The contact e-mail address, shown like `contactName`.
    async fn contact_email(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.contact(
            ctx,
            Field::OrganizationContactEmail,
            &self.0.contact_email,
            None,
        )
    }
    /// Memberships of this organisation (each with its person).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::relay::page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        order_by: Option<Order<MembershipOrderField>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<Membership>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            let partition =
                (membership::Entity, membership::Column::OrganizationId).into_column_ref();
            let select = membership::Entity::find();
            Ok((select, partition, order_spec(order_by), page))
        })
        .await
    }
    /// Services this organisation organises.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::relay::page_cost(first, last, child_complexity)")]
    async fn services(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceFilter>,
        order_by: Option<Order<ServiceOrderField>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<Service>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            let select = filter.unwrap_or_default().apply(service::Entity::find())?;
            let partition = (service::Entity, service::Column::OrganizerId).into_column_ref();
            Ok((select, partition, order_spec(order_by), page))
        })
        .await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A person's membership of an organisation.
#[derive(Clone)]
pub struct Membership(pub membership::Model);

impl NodeObject for Membership {
    type Entity = membership::Entity;
    fn from_model(m: membership::Model) -> Self {
        Membership(m)
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MembershipOrderField {
    CreatedAt,
    JoinedOn,
}
order_field!(MembershipOrderField, membership::Entity, default = (CreatedAt, Asc), {
    CreatedAt => (membership::Column::CreatedAt, "CREATED_AT"),
    JoinedOn => (membership::Column::JoinedOn, "JOINED_ON"),
});

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        global_id("Membership", self.0.id)
    }
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(self.0.person_id))
            .await?
            .map(Person))
    }
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let key = ById::<organization::Entity>::new(self.0.organization_id);
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .map(Organization))
    }
    async fn role(&self) -> MembershipRole {
        self.0.role.into()
    }
    async fn joined_on(&self) -> Date {
        Date(self.0.joined_on)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A person responsible for a grid.
#[derive(Clone)]
pub struct GridAssignment(pub grid_assignment::Model);

impl NodeObject for GridAssignment {
    type Entity = grid_assignment::Entity;
    fn from_model(m: grid_assignment::Model) -> Self {
        GridAssignment(m)
    }
}

#[Object]
impl GridAssignment {
    pub async fn id(&self) -> ID {
        global_id("GridAssignment", self.0.id)
    }
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<grid::Entity>::new(self.0.grid_id))
            .await?
            .map(Grid))
    }
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(self.0.person_id))
            .await?
            .map(Person))
    }
    async fn role(&self) -> GridWorkerRole {
        self.0.role.into()
    }
    async fn since(&self) -> Date {
        Date(self.0.since)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Organization>> {
        let id = id_of::<organization::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<organization::Entity>::new(id))
            .await?
            .map(Organization))
    }
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::relay::page_cost(first, last, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationFilter>,
        order_by: Option<Order<OrganizationOrderField>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<Organization>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter
            .unwrap_or_default()
            .apply(organization::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
