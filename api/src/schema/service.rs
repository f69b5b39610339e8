//! Public services delivered in grids.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Organization;
use super::participation::{Participation, ParticipationFilter, ParticipationOrderField};
use super::relay::{Connection, NodeObject, id_of};
use super::scalars::{
    DateTime, Order, ServiceCategory, ServiceStatus, order_field, order_spec, search_text,
};
use crate::error::{ApiError, ApiResult};
use crate::loaders::{ById, ParticipantCount};
use crate::store::filters;
use crate::store::page::PageRequest;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::{grid, organization, participation, service};
use gridgov_macros::{connections, node};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

#[derive(Clone)]
pub struct Service(pub service::Model);

impl NodeObject for Service {
    type Entity = service::Entity;
    fn from_model(m: service::Model) -> Self {
        Service(m)
    }
}

/// What `services` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ServiceOrderField {
    /// When the service was created.
    CreatedAt,
    /// When the service starts.
    StartsAt,
    /// The title, in code-point order.
    Title,
}
order_field!(ServiceOrderField, service::Entity, default = (StartsAt, Asc), {
    CreatedAt => (service::Column::CreatedAt, "CREATED_AT"),
    StartsAt => (service::Column::StartsAt, "STARTS_AT"),
    Title => (service::Column::Title, "TITLE"),
});

/// Filter of services; all given conditions must hold, a list matches any of its values.
#[derive(InputObject, Default)]
pub struct ServiceFilter {
    /// Delivered in exactly this grid (global id).
    pub grid_id: Option<ID>,
    /// Delivered in this grid or anywhere in its subtree.
    pub within_grid_id: Option<ID>,
    /// In any of these statuses (at most 20).
    pub status: Option<Vec<ServiceStatus>>,
    /// Of any of these categories (at most 20).
    pub category: Option<Vec<ServiceCategory>>,
    /// Organised by this organisation (global id).
    pub organizer_id: Option<ID>,
    /// Starts at or after this instant.
    pub starts_after: Option<DateTime>,
    /// Starts strictly before this instant.
    pub starts_before: Option<DateTime>,
    /// Case-insensitive substring of the title or location.
    pub search: Option<String>,
}

/// Checks the length of a list filter.
pub fn filter_list<T>(list: &[T], field: &str) -> ApiResult<()> {
    let max = crate::caps::current().max_filter_values;
    if list.len() > max {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` takes at most {max} values"),
        ));
    }
    Ok(())
}

impl ServiceFilter {
    pub fn apply(self, mut select: Select<service::Entity>) -> ApiResult<Select<service::Entity>> {
        if let Some(g) = &self.grid_id {
            select = select
                .filter(service::Column::GridId.eq(id_of::<grid::Entity>(g, "filter.gridId")?));
        }
        if let Some(root) = &self.within_grid_id {
            let root = id_of::<grid::Entity>(root, "filter.withinGridId")?;
            select = select.filter(filters::grid_id_in_subtree(service::Column::GridId, root));
        }
        if let Some(status) = &self.status {
            filter_list(status, "filter.status")?;
            select = select.filter(
                service::Column::Status
                    .is_in(status.iter().map(|s| entity::ServiceStatus::from(*s))),
            );
        }
        if let Some(category) = &self.category {
            filter_list(category, "filter.category")?;
            select = select.filter(
                service::Column::Category
                    .is_in(category.iter().map(|c| entity::ServiceCategory::from(*c))),
            );
        }
        if let Some(org) = &self.organizer_id {
            select = select.filter(
                service::Column::OrganizerId
                    .eq(id_of::<organization::Entity>(org, "filter.organizerId")?),
            );
        }
        if let Some(DateTime(t)) = self.starts_after {
            select = select.filter(service::Column::StartsAt.gte(t));
        }
        if let Some(DateTime(t)) = self.starts_before {
            select = select.filter(service::Column::StartsAt.lt(t));
        }
        if let Some(s) = &self.search {
            let s = search_text(s, "filter.search")?;
            select = select.filter(filters::search(
                &[service::Column::Title, service::Column::Location],
                &s,
            ));
        }
        Ok(select)
    }
}

/// A public service delivered in a grid (a health check, a clean-up, a legal-aid session…),
/// organised by an organisation, with participants. Readable by ADMIN, AGENCY, GRID_MANAGER in
/// its subtrees; VOLUNTEER_ORG and PUBLIC see published services (PUBLISHED, IN_PROGRESS,
/// COMPLETED), and VOLUNTEER_ORG also those it organises.
#[node(tracked)]
#[Object]
impl Service {
    /// Short title, one line.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Longer description (may hold line breaks); null when none was given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// What the service is about.
    async fn category(&self) -> ServiceCategory {
        self.0.category.into()
    }
    /// Where the service stands in its lifecycle.
    async fn status(&self) -> ServiceStatus {
        self.0.status.into()
    }
    /// When the service starts.
    async fn starts_at(&self) -> DateTime {
        self.0.starts_at.into()
    }
    /// When the service ends; null when open-ended (check-in windows then assume 24 hours).
    async fn ends_at(&self) -> Option<DateTime> {
        self.0.ends_at.map(Into::into)
    }
    /// Places available; null means unlimited.
    async fn capacity(&self) -> Option<i32> {
        self.0.capacity
    }
    /// Where it takes place, as free text (e.g. `社区服务中心二楼`); null when not given.
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    /// Grid the service is delivered in.
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<grid::Entity>::new(self.0.grid_id))
            .await?
            .map(Grid))
    }
    /// The organisation that organises the service; null for PUBLIC callers, who may not
    /// read organisations.
    async fn organizer(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        let key = ById::<organization::Entity>::new(self.0.organizer_id);
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .map(Organization))
    }
    /// Participations holding a place (every status but CANCELLED). A count of people:
    /// `FORBIDDEN` to AGENCY, which reads perturbed counts through `stats`.
    async fn participant_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let rq = RequestCtx::of(ctx)?;
        if crate::policy::rows::statistics_only(rq.actor.caller.role) {
            <entity::participation::Entity as crate::policy::Scoped>::readable(&rq.actor.caller)?;
        }
        let n = rq
            .loader
            .load_one(ParticipantCount(self.0.id))
            .await?
            .unwrap_or(0);
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// Who registered for this service (the participations the caller may see); `FORBIDDEN`
    /// to AGENCY, empty for PUBLIC.
    #[connection]
    async fn participations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<ParticipationFilter>,
        #[graphql(desc = "Sort order (default `REGISTERED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<ParticipationOrderField>>,
    ) -> ApiResult<Connection<Participation>> {
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            super::participation::nested(participation::Column::ServiceId, filter, order_by, page)
        })
        .await
    }
}

pub struct ServiceQuery;

#[connections]
#[Object]
impl ServiceQuery {
    /// A service by global id; null when it does not exist or the caller may not see it.
    async fn service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the service.")] id: ID,
    ) -> ApiResult<Option<Service>> {
        let id = id_of::<service::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<service::Entity>::new(id))
            .await?
            .map(Service))
    }
    /// Services the caller may see, filtered and paged.
    #[connection]
    async fn services(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<ServiceFilter>,
        #[graphql(desc = "Sort order (default `STARTS_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<ServiceOrderField>>,
    ) -> ApiResult<Connection<Service>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter.unwrap_or_default().apply(service::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
