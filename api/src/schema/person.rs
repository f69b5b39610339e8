//! People: residents, grid workers and volunteers.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Membership;
use super::participation::{Participation, ParticipationFilter, ParticipationOrderField};
use super::relay::{Connection, NodeObject, id_of};
use super::scalars::{Date, Gender, Order, PersonTag, order_field, order_spec, search_text};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::loaders::{ById, ListBy};
use crate::policy::Scoped;
use crate::policy::{Field, Show};
use crate::store::filters;
use crate::store::page::PageRequest;
use crate::validate;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::{grid, membership, organization, participation, person, person_tag};
use gridgov_macros::{connections, node};
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

/// What `people` and `residents` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PersonOrderField {
    /// When the person was recorded.
    CreatedAt,
    /// The name, in code-point order; `BAD_USER_INPUT` for callers who do not see names.
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
    /// Applies the filter for `caller`: a related row it names (a membership) counts only when
    /// the caller may see it, and a search needs the name unmasked.
    pub fn apply(
        self,
        caller: &Caller,
        mut select: Select<person::Entity>,
    ) -> ApiResult<Select<person::Entity>> {
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
                .and_where(membership::Column::OrganizationId.eq(org))
                .cond_where(membership::Entity::visible(caller));
            select = select.filter(person::Column::Id.in_subquery(q));
        }
        if let Some(s) = &self.search {
            crate::policy::require_plain(caller, Field::PersonName, "filter.search")?;
            select = select.filter(filters::search(
                &[person::Column::Name],
                &search_text(s, "filter.search")?,
            ));
        }
        Ok(select)
    }
}

/// A resident, grid worker or volunteer. Personal data: readable by ADMIN, by GRID_MANAGER for
/// people whose home grid is in its subtrees and by VOLUNTEER_ORG for members of its
/// organisation; `FORBIDDEN` to AGENCY; PUBLIC sees none. Which fields are shown, masked or
/// null per role is in `docs/security.md`.
#[node(tracked)]
#[Object]
impl Person {
    /// The person's name; null for roles that do not identify people.
    async fn name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        reveal(ctx, self.0.id, Field::PersonName, Some(&self.0.name), None)
    }
    /// Gender; null when not recorded or for roles that do not identify people.
    async fn gender(&self, ctx: &Context<'_>) -> ApiResult<Option<Gender>> {
        Ok(shown(ctx, Field::PersonGender)?
            .then_some(self.0.gender)
            .flatten()
            .map(Into::into))
    }
    /// Personal data: shown only to callers with `pii:read` and a grid scope covering the person
    /// (the read is written to the PII access log), null otherwise — the 8 digits an ID
    /// number's mask hides are the birth date. Everyone who sees the person gets `ageBand`.
    async fn birth_date(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        let day = self.0.birth_date.map(|d| d.to_string());
        let shown = reveal(ctx, self.0.id, Field::PersonBirthDate, day.as_deref(), None)?;
        Ok(shown.and(self.0.birth_date).map(Date))
    }
    /// Age band (`0-17`, `18-34`, `35-59`, `60-79`, `80+`) today, from the birth date.
    async fn age_band(&self, ctx: &Context<'_>) -> ApiResult<Option<&'static str>> {
        if !shown(ctx, Field::PersonAgeBand)? {
            return Ok(None);
        }
        let Some(born) = self.0.birth_date else {
            return Ok(None);
        };
        let Some(age) = chrono::Utc::now().date_naive().years_since(born) else {
            return Ok(None);
        };
        Ok(Some(match age {
            0..=17 => "0-17",
            18..=34 => "18-34",
            35..=59 => "35-59",
            60..=79 => "60-79",
            _ => "80+",
        }))
    }
    /// Mainland mobile number; masked (`138****5678`) unless the caller has `pii:read` and the
    /// person is in its grid scope (then the read is written to the PII access log).
    async fn phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        reveal(
            ctx,
            self.0.id,
            Field::PersonPhone,
            self.0.phone.as_deref(),
            Some(validate::mask_phone),
        )
    }
    /// 18-character resident ID number; masked (`370685********1234`) like `phone`.
    async fn id_number(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        reveal(
            ctx,
            self.0.id,
            Field::PersonIdNumber,
            self.0.id_number.as_deref(),
            Some(validate::mask_id_number),
        )
    }
    /// Home address; null for roles that do not identify people.
    async fn address(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        reveal(
            ctx,
            self.0.id,
            Field::PersonAddress,
            self.0.address.as_deref(),
            None,
        )
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
    /// Services this person registered for, in any role (those the caller may see).
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
            super::participation::nested(participation::Column::PersonId, filter, order_by, page)
        })
        .await
    }
}

/// Whether `field` is shown at all to the caller (for fields that are never masked).
fn shown(ctx: &Context<'_>, field: Field) -> ApiResult<bool> {
    let caller = &RequestCtx::of(ctx)?.actor.caller;
    Ok(!matches!(
        crate::policy::disclosure(caller, field, false),
        Show::Absent
    ))
}

/// A personal field as the policy lets the caller see it: shown, masked with `mask`, or null;
/// a `Logged` read is written to the PII access log under `subject`.
pub(crate) fn reveal_for(
    rq: &RequestCtx,
    subject: uuid::Uuid,
    field: Field,
    value: Option<&str>,
    mask: Option<fn(&str) -> String>,
    own: bool,
) -> Option<String> {
    let value = value?;
    match crate::policy::disclosure(&rq.actor.caller, field, own) {
        Show::Plain => Some(value.to_owned()),
        Show::Logged => {
            rq.record_pii_read(subject, field.log_name());
            Some(value.to_owned())
        }
        Show::Masked => Some(mask.map_or_else(|| "*".repeat(value.chars().count()), |m| m(value))),
        Show::Absent | Show::OwnOnly | Show::OwnMasked => None,
    }
}

fn reveal(
    ctx: &Context<'_>,
    person: uuid::Uuid,
    field: Field,
    value: Option<&str>,
    mask: Option<fn(&str) -> String>,
) -> ApiResult<Option<String>> {
    Ok(reveal_for(
        RequestCtx::of(ctx)?,
        person,
        field,
        value,
        mask,
        false,
    ))
}

/// Refuses an ordering by a field the caller does not see unmasked.
pub fn check_order(caller: &Caller, order: Option<&Order<PersonOrderField>>) -> ApiResult<()> {
    match order.map(|o| o.field) {
        Some(PersonOrderField::Name) => {
            crate::policy::require_plain(caller, Field::PersonName, "orderBy.field")
        }
        _ => Ok(()),
    }
}

pub struct PersonQuery;

#[connections]
#[Object]
impl PersonQuery {
    /// A person by global id; null when it does not exist, was erased or the caller may not
    /// see it.
    async fn person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the person.")] id: ID,
    ) -> ApiResult<Option<Person>> {
        let id = id_of::<person::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<person::Entity>::new(id))
            .await?
            .map(Person))
    }
    /// People the caller may see, filtered and paged; `FORBIDDEN` to AGENCY.
    #[connection]
    async fn people(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<PersonFilter>,
        #[graphql(desc = "Sort order (default `CREATED_AT` ascending); ties are broken by id.")]
        order_by: Option<Order<PersonOrderField>>,
    ) -> ApiResult<Connection<Person>> {
        let rq = RequestCtx::of(ctx)?;
        person::Entity::readable(&rq.actor.caller)?;
        let page = PageRequest::new(first, after, last, before)?;
        check_order(&rq.actor.caller, order_by.as_ref())?;
        let select = filter
            .unwrap_or_default()
            .apply(&rq.actor.caller, person::Entity::find())?;
        Connection::root(rq, select, order_spec(order_by), page).await
    }
}
