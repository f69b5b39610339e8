//! People: residents, grid workers and volunteers.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Membership;
use super::participation::{Participation, ParticipationFilter, ParticipationOrderField};
use super::relay::{Connection, NodeObject, global_id, id_of};
use super::scalars::{Date, Gender, Order, PersonTag, order_field, order_spec, search_text};
use crate::auth::Role;
use crate::error::ApiResult;
use crate::loaders::{ById, ListBy};
use crate::store::filters;
use crate::store::page::PageRequest;
use crate::validate;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{grid, membership, organization, participation, person, person_tag};
use sea_orm::sea_query::Query;
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
    /// Null for de-identified callers (AGENCY).
    async fn name(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        Ok(identified(ctx)?.then_some(self.0.name.as_str()))
    }
    async fn gender(&self) -> Option<Gender> {
        self.0.gender.map(Into::into)
    }
    /// Null for de-identified callers (AGENCY), who get `ageBand`.
    async fn birth_date(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        Ok(self
            .0
            .birth_date
            .filter(|_| identified(ctx).unwrap_or(false))
            .map(Date))
    }
    /// Age band (`0-17`, `18-34`, `35-59`, `60-79`, `80+`) today, from the birth date.
    async fn age_band(&self) -> Option<&'static str> {
        let born = self.0.birth_date?;
        let age = chrono::Utc::now().date_naive().years_since(born)?;
        Some(match age {
            0..=17 => "0-17",
            18..=34 => "18-34",
            35..=59 => "35-59",
            60..=79 => "60-79",
            _ => "80+",
        })
    }
    /// Mainland mobile number; masked (`138****5678`) unless the caller has `pii:read` and the
    /// person is in its grid scope (then the read is written to the PII access log).
    async fn phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        personal(
            ctx,
            self.0.id,
            "phone",
            self.0.phone.as_deref(),
            validate::mask_phone,
        )
    }
    /// 18-character resident ID number; masked (`370685********1234`) like `phone`.
    async fn id_number(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        personal(
            ctx,
            self.0.id,
            "idNumber",
            self.0.id_number.as_deref(),
            validate::mask_id_number,
        )
    }
    /// Null for de-identified callers (AGENCY).
    async fn address(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        Ok(self
            .0
            .address
            .as_deref()
            .filter(|_| identified(ctx).unwrap_or(false)))
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
        Connection::child(ctx, self.0.id, || {
            let page = PageRequest::new(first, after, last, before)?;
            super::participation::nested(participation::Column::PersonId, filter, order_by, page)
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

/// Whether the caller may see who a person is (everyone who sees people but AGENCY).
fn identified(ctx: &Context<'_>) -> ApiResult<bool> {
    Ok(RequestCtx::of(ctx)?.actor.caller.role != Role::Agency)
}

/// A personal-data field: null for AGENCY, masked without `pii:read`, and otherwise shown and
/// recorded in the PII access log.
fn personal(
    ctx: &Context<'_>,
    person: uuid::Uuid,
    field: &'static str,
    value: Option<&str>,
    mask: fn(&str) -> String,
) -> ApiResult<Option<String>> {
    let rq = RequestCtx::of(ctx)?;
    let Some(value) = value else { return Ok(None) };
    if rq.actor.caller.role == Role::Agency {
        return Ok(None);
    }
    if !rq.actor.caller.reads_pii() {
        return Ok(Some(mask(value)));
    }
    rq.record_pii_read(person, field);
    Ok(Some(value.to_owned()))
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
