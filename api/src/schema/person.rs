//! People: residents, grid workers and volunteers.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Membership;
use super::participation::{Participation, ParticipationFilter, ParticipationOrderField};
use super::relay::{Connection, NodeObject, global_id, id_of};
use super::scalars::{Date, Gender, Order, PersonTag, order_field, order_spec, search_text};
use crate::error::ApiResult;
use crate::loaders::{ById, ListBy};
use crate::store::filters;
use crate::store::page::PageRequest;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{grid, membership, organization, participation, person, person_tag};
use sea_orm::sea_query::{IntoColumnRef, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

#[derive(Clone)]
pub struct Person(pub person::Model);

impl NodeObject for Person {
    type Entity = person::Entity;
    fn from_model(m: person::Model) -> Self {
        Person(m)
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PersonOrderField {
    CreatedAt,
    Name,
}
order_field!(PersonOrderField, person::Entity, default = (CreatedAt, Asc), {
    CreatedAt => (person::Column::CreatedAt, "CREATED_AT"),
    Name => (person::Column::Name, "NAME"),
});

/// Filter of people; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct PersonFilter {
    /// Home grid exactly this one.
    pub grid_id: Option<ID>,
    /// Home grid in this grid's subtree.
    pub within_grid_id: Option<ID>,
    /// Carries this care tag.
    pub tag: Option<PersonTag>,
    /// Member of this organisation.
    pub organization_id: Option<ID>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

impl PersonFilter {
    pub fn apply(self, mut select: Select<person::Entity>) -> ApiResult<Select<person::Entity>> {
        if let Some(g) = &self.grid_id {
            select = select
                .filter(person::Column::GridId.eq(id_of::<grid::Entity>(g, "filter.gridId")?));
        }
        if let Some(root) = &self.within_grid_id {
            let root = id_of::<grid::Entity>(root, "filter.withinGridId")?;
            select = select.filter(filters::grid_id_in_subtree(person::Column::GridId, root));
        }
        if let Some(tag) = self.tag {
            let mut q = Query::select();
            q.column(person_tag::Column::PersonId)
                .from(person_tag::Entity)
                .and_where(person_tag::Column::Tag.eq(entity::PersonTagKind::from(tag)));
            select = select.filter(person::Column::Id.in_subquery(q));
        }
        if let Some(org) = &self.organization_id {
            let org = id_of::<organization::Entity>(org, "filter.organizationId")?;
            let mut q = Query::select();
            q.column(membership::Column::PersonId)
                .from(membership::Entity)
                .and_where(membership::Column::OrganizationId.eq(org));
            select = select.filter(person::Column::Id.in_subquery(q));
        }
        if let Some(s) = &self.search {
            select = select.filter(filters::search(
                &[person::Column::Name],
                &search_text(s, "filter.search")?,
            ));
        }
        Ok(select)
    }
}

#[Object]
impl Person {
    pub async fn id(&self) -> ID {
        global_id("Person", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn gender(&self) -> Option<Gender> {
        self.0.gender.map(Into::into)
    }
    async fn birth_date(&self) -> Option<Date> {
        self.0.birth_date.map(Date)
    }
    /// Mainland mobile number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// 18-character resident ID number.
    async fn id_number(&self) -> Option<&str> {
        self.0.id_number.as_deref()
    }
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// Home grid.
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<grid::Entity>::new(self.0.grid_id))
            .await?
            .map(Grid))
    }
    /// Care tags.
    async fn tags(&self, ctx: &Context<'_>) -> ApiResult<Vec<PersonTag>> {
        let key = ListBy::<person_tag::Entity> {
            key: self.0.id,
            by: person_tag::Column::PersonId,
        };
        let rows = RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .unwrap_or_default();
        Ok(rows.iter().map(|t| t.tag.into()).collect())
    }
    /// Organisations this person is a member of.
    async fn memberships(&self, ctx: &Context<'_>) -> ApiResult<Vec<Membership>> {
        let key = ListBy::<membership::Entity> {
            key: self.0.id,
            by: membership::Column::PersonId,
        };
        let rows = RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .unwrap_or_default();
        Ok(rows.iter().cloned().map(Membership).collect())
    }
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::relay::page_cost(first, last, child_complexity)")]
    async fn participations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ParticipationFilter>,
        order_by: Option<Order<ParticipationOrderField>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<Participation>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter
            .unwrap_or_default()
            .apply(participation::Entity::find())?;
        let partition = (participation::Entity, participation::Column::PersonId).into_column_ref();
        Connection::child(
            RequestCtx::of(ctx)?,
            self.0.id,
            select,
            partition,
            order_spec(order_by),
            page,
        )
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

pub struct PersonQuery;

#[Object]
impl PersonQuery {
    async fn person(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Person>> {
        let id = id_of::<person::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(id))
            .await?
            .map(Person))
    }
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::relay::page_cost(first, last, child_complexity)")]
    async fn people(
        &self,
        ctx: &Context<'_>,
        filter: Option<PersonFilter>,
        order_by: Option<Order<PersonOrderField>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<Person>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter.unwrap_or_default().apply(person::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
}
