//! Participation records: one person taking part in one service.

use super::RequestCtx;
use super::organization::Organization;
use super::person::Person;
use super::relay::{ChildQuery, Connection, NodeObject, id_of};
use super::scalars::{
    DateTime, Order, ParticipationRole, ParticipationStatus, order_field, order_spec,
};
use super::service::{Service, filter_list};
use crate::error::ApiResult;
use crate::loaders::ById;
use crate::store::filters;
use crate::store::page::PageRequest;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::{grid, organization, participation, person, service};
use gridgov_macros::{connections, node};
use sea_orm::sea_query::{IntoColumnRef, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

#[derive(Clone)]
pub struct Participation(pub participation::Model);

impl NodeObject for Participation {
    type Entity = participation::Entity;
    fn from_model(m: participation::Model) -> Self {
        Participation(m)
    }
}

/// What `participations` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ParticipationOrderField {
    /// When the participation was recorded.
    CreatedAt,
    /// When the person registered (as given at registration).
    RegisteredAt,
}
order_field!(ParticipationOrderField, participation::Entity, default = (RegisteredAt, Asc), {
    CreatedAt => (participation::Column::CreatedAt, "CREATED_AT"),
    RegisteredAt => (participation::Column::RegisteredAt, "REGISTERED_AT"),
});

/// Filter of participations; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct ParticipationFilter {
    /// Participations in this service (global id).
    pub service_id: Option<ID>,
    /// Participations of this person (global id).
    pub person_id: Option<ID>,
    /// The organisation that registered the participation.
    pub organization_id: Option<ID>,
    /// Participations in any of these statuses (at least one).
    pub status: Option<Vec<ParticipationStatus>>,
    /// The service is delivered in this grid's subtree.
    pub within_grid_id: Option<ID>,
}

/// The query of a nested `participations` connection whose parent id is in `parent`
/// (`PersonId` under a person, `ServiceId` under a service).
pub(super) fn nested(
    parent: participation::Column,
    filter: Option<ParticipationFilter>,
    order_by: Option<Order<ParticipationOrderField>>,
    page: PageRequest,
) -> ApiResult<ChildQuery<participation::Entity>> {
    let select = filter
        .unwrap_or_default()
        .apply(participation::Entity::find())?;
    Ok((
        select,
        (participation::Entity, parent).into_column_ref(),
        order_spec(order_by),
        page,
    ))
}

impl ParticipationFilter {
    pub fn apply(
        self,
        mut select: Select<participation::Entity>,
    ) -> ApiResult<Select<participation::Entity>> {
        if let Some(s) = &self.service_id {
            select = select.filter(
                participation::Column::ServiceId
                    .eq(id_of::<service::Entity>(s, "filter.serviceId")?),
            );
        }
        if let Some(p) = &self.person_id {
            select = select.filter(
                participation::Column::PersonId.eq(id_of::<person::Entity>(p, "filter.personId")?),
            );
        }
        if let Some(o) = &self.organization_id {
            select = select.filter(participation::Column::OrganizationId.eq(id_of::<
                organization::Entity,
            >(
                o,
                "filter.organizationId",
            )?));
        }
        if let Some(status) = &self.status {
            filter_list(status, "filter.status")?;
            select = select.filter(
                participation::Column::Status
                    .is_in(status.iter().map(|s| entity::ParticipationStatus::from(*s))),
            );
        }
        if let Some(root) = &self.within_grid_id {
            let root = id_of::<grid::Entity>(root, "filter.withinGridId")?;
            let mut q = Query::select();
            q.column(service::Column::Id)
                .from(service::Entity)
                .cond_where(filters::grid_id_in_subtree(service::Column::GridId, root));
            select = select.filter(participation::Column::ServiceId.in_subquery(q));
        }
        Ok(select)
    }
}

/// One person taking part in one service, from registration to check-out. Readable by ADMIN, by
/// GRID_MANAGER for services in its subtrees and by VOLUNTEER_ORG for those it registered;
/// `FORBIDDEN` to AGENCY; PUBLIC sees none.
#[node(tracked)]
#[Object]
impl Participation {
    /// The service; null when the caller may not see it.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<Service>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<service::Entity>::new(self.0.service_id))
            .await?
            .map(Service))
    }
    /// The participant; null when the caller may not see that person (or it was erased).
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(self.0.person_id))
            .await?
            .map(Person))
    }
    /// The organisation that registered this participation; null when registered without one.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let Some(org) = self.0.organization_id else {
            return Ok(None);
        };
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<organization::Entity>::new(org))
            .await?
            .map(Organization))
    }
    /// How the person takes part.
    async fn role(&self) -> ParticipationRole {
        self.0.role.into()
    }
    /// Where the participation stands in its lifecycle.
    async fn status(&self) -> ParticipationStatus {
        self.0.status.into()
    }
    /// When the person registered.
    async fn registered_at(&self) -> DateTime {
        self.0.registered_at.into()
    }
    /// When the person checked in; null until `checkIn`.
    async fn checked_in_at(&self) -> Option<DateTime> {
        self.0.checked_in_at.map(Into::into)
    }
    /// When the person checked out; null until `checkOut`.
    async fn checked_out_at(&self) -> Option<DateTime> {
        self.0.checked_out_at.map(Into::into)
    }
    /// Minutes of service credited at check-out (counted inside the service's window); null
    /// before.
    async fn minutes(&self) -> Option<i32> {
        self.0.minutes
    }
    /// Volunteer hours: `minutes / 60`, rounded to two decimals.
    async fn hours(&self) -> Option<f64> {
        self.0
            .minutes
            .map(|m| (f64::from(m) / 60.0 * 100.0).round() / 100.0)
    }
    /// The registering platform's own reference.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }
}

pub struct ParticipationQuery;

#[connections]
#[Object]
impl ParticipationQuery {
    /// A participation by global id; null when it does not exist or the caller may not see it.
    async fn participation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the participation.")] id: ID,
    ) -> ApiResult<Option<Participation>> {
        let id = id_of::<participation::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<participation::Entity>::new(id))
            .await?
            .map(Participation))
    }
    /// Participations the caller may see, filtered and paged; `FORBIDDEN` to AGENCY.
    #[connection]
    async fn participations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<ParticipationFilter>,
        #[graphql(desc = "Sort order (default `REGISTERED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<ParticipationOrderField>>,
    ) -> ApiResult<Connection<Participation>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter
            .unwrap_or_default()
            .apply(participation::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
