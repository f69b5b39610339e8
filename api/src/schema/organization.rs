//! Organisations, their members, and the people responsible for grids.

use super::RequestCtx;
use super::grid::Grid;
use super::person::Person;
use super::relay::{Connection, NodeObject, id_of};
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
use entity::{grid, grid_assignment, membership, organization, person, service};
use gridgov_macros::{connections, node};
use sea_orm::sea_query::IntoColumnRef;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

/// An organisation.
#[derive(Clone)]
pub struct Organization(pub organization::Model);

impl NodeObject for Organization {
    type Entity = organization::Entity;
    fn from_model(m: organization::Model) -> Self {
        Organization(m)
    }
}

/// What `organizations` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrganizationOrderField {
    /// When the organisation was created.
    CreatedAt,
    /// The organisation's name, in code-point order.
    Name,
}
order_field!(OrganizationOrderField, organization::Entity, default = (Name, Asc), {
    CreatedAt => (organization::Column::CreatedAt, "CREATED_AT"),
    Name => (organization::Column::Name, "NAME"),
});

/// Filter of `organizations`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct OrganizationFilter {
    /// Organisations of this kind only.
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

/// A government office, volunteer organisation, partner agency or community group that
/// organises services and registers participants. Every role but PUBLIC may read
/// organisations; their contact fields are personal data.
#[node(tracked)]
#[Object]
impl Organization {
    /// The organisation's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of body it is.
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
    #[connection]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default `CREATED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<MembershipOrderField>>,
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
    #[connection]
    async fn services(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<ServiceFilter>,
        #[graphql(desc = "Sort order (default `STARTS_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<ServiceOrderField>>,
    ) -> ApiResult<Connection<Service>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            let select = filter.unwrap_or_default().apply(service::Entity::find())?;
            let partition = (service::Entity, service::Column::OrganizerId).into_column_ref();
            Ok((select, partition, order_spec(order_by), page))
        })
        .await
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

/// What `members` and `memberships` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MembershipOrderField {
    /// When the membership was recorded.
    CreatedAt,
    /// When the person joined the organisation.
    JoinedOn,
}
order_field!(MembershipOrderField, membership::Entity, default = (CreatedAt, Asc), {
    CreatedAt => (membership::Column::CreatedAt, "CREATED_AT"),
    JoinedOn => (membership::Column::JoinedOn, "JOINED_ON"),
});

/// A person's membership of an organisation, with their role in it. Readable by ADMIN, by
/// GRID_MANAGER for people of its subtrees and by VOLUNTEER_ORG for its own organisation;
/// `FORBIDDEN` to AGENCY.
#[node(tracked)]
#[Object]
impl Membership {
    /// The member; null when the caller may not see that person.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(self.0.person_id))
            .await?
            .map(Person))
    }
    /// The organisation; null when the caller may not see it.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let key = ById::<organization::Entity>::new(self.0.organization_id);
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .map(Organization))
    }
    /// The member's role in the organisation.
    async fn role(&self) -> MembershipRole {
        self.0.role.into()
    }
    /// The day the person joined.
    async fn joined_on(&self) -> Date {
        Date(self.0.joined_on)
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

/// A person's assignment as a worker of a grid. Readable by ADMIN, by GRID_MANAGER in its
/// subtrees and by AGENCY (whose `person` is `FORBIDDEN`).
#[node(tracked)]
#[Object]
impl GridAssignment {
    /// The grid the person works in.
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<grid::Entity>::new(self.0.grid_id))
            .await?
            .map(Grid))
    }
    /// The grid worker; null when the caller may not see that person, `FORBIDDEN` to AGENCY.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(self.0.person_id))
            .await?
            .map(Person))
    }
    /// The person's role in the grid.
    async fn role(&self) -> GridWorkerRole {
        self.0.role.into()
    }
    /// The day the assignment began.
    async fn since(&self) -> Date {
        Date(self.0.since)
    }
}

pub struct OrganizationQuery;

#[connections]
#[Object]
impl OrganizationQuery {
    /// An organisation by global id; null when it does not exist or the caller may not see it.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the organisation.")] id: ID,
    ) -> ApiResult<Option<Organization>> {
        let id = id_of::<organization::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<organization::Entity>::new(id))
            .await?
            .map(Organization))
    }
    /// Organisations, filtered and paged (every role but PUBLIC sees them all).
    #[connection]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<OrganizationFilter>,
        #[graphql(desc = "Sort order (default `NAME` ascending); ties are broken by id.")]
        order_by: Option<Order<OrganizationOrderField>>,
    ) -> ApiResult<Connection<Organization>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter
            .unwrap_or_default()
            .apply(organization::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
