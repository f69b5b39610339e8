//! Person mutations.

use super::{create_once, deleted_payload, write};
use crate::error::ApiResult;
use crate::schema::input::{Patch, apply, opt_text, patch, required, text};
use crate::schema::person::Person;
use crate::schema::relay::{global_id, id_of};
use crate::schema::scalars::{Date, Gender, PersonTag};
use crate::store::person::{self as store, PersonFields};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::NaiveDate;
use entity::{grid, person};
use serde::Serialize;
use uuid::Uuid;

#[derive(InputObject, Serialize)]
pub struct CreatePersonInput {
    pub name: String,
    /// Derived from `idNumber` when omitted; must agree with it when both are given.
    pub gender: Option<Gender>,
    /// Derived from `idNumber` when omitted; must agree with it when both are given.
    pub birth_date: Option<Date>,
    /// Mainland mobile number, 11 digits starting with 1.
    pub phone: Option<String>,
    /// 18-character resident ID number (GB 11643 check character).
    pub id_number: Option<String>,
    /// Home grid.
    pub grid_id: ID,
    pub address: Option<String>,
    pub tags: Option<Vec<PersonTag>>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdatePersonInput {
    pub name: MaybeUndefined<String>,
    pub gender: MaybeUndefined<Gender>,
    pub birth_date: MaybeUndefined<Date>,
    pub phone: MaybeUndefined<String>,
    pub id_number: MaybeUndefined<String>,
    pub grid_id: MaybeUndefined<ID>,
    pub address: MaybeUndefined<String>,
}

#[derive(SimpleObject)]
pub struct CreatePersonPayload {
    pub person: Person,
}
#[derive(SimpleObject)]
pub struct UpdatePersonPayload {
    pub person: Person,
}
#[derive(SimpleObject)]
pub struct SetPersonTagsPayload {
    pub person: Person,
}
deleted_payload!(DeletePersonPayload);

#[derive(SimpleObject)]
pub struct ErasePersonPayload {
    /// Global id of the person whose personal data was erased.
    pub erased_id: ID,
}

/// Normalises a phone or ID number: surrounding spaces removed, empty means absent.
fn token(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Validated changes to a person.
#[derive(Clone, Default)]
struct PersonChanges {
    name: Option<String>,
    gender: Patch<entity::Gender>,
    birth_date: Patch<NaiveDate>,
    phone: Patch<String>,
    id_number: Patch<String>,
    grid_id: Option<Uuid>,
    address: Patch<String>,
}

impl PersonChanges {
    fn apply(self, f: &mut PersonFields) -> ApiResult<()> {
        if let Some(name) = self.name {
            f.name = name;
        }
        apply(&mut f.gender, self.gender);
        apply(&mut f.birth_date, self.birth_date);
        apply(&mut f.phone, self.phone);
        apply(&mut f.id_number, self.id_number);
        apply(&mut f.address, self.address);
        if let Some(g) = self.grid_id {
            f.grid_id = g;
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct PersonMutation;

#[Object]
impl PersonMutation {
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonInput,
    ) -> ApiResult<CreatePersonPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let key = idempotency_key(&input.idempotency_key)?;
        let hash = input_hash(&input);
        let fields = PersonFields {
            name: text("name", &input.name, 100)?,
            gender: input.gender.map(Into::into),
            birth_date: input.birth_date.map(|d| d.0),
            phone: token(input.phone.as_deref()),
            id_number: token(input.id_number.as_deref()),
            grid_id: id_of::<grid::Entity>(&input.grid_id, "gridId")?,
            address: opt_text("address", input.address.as_deref(), 300)?,
        };
        // Validate before opening a transaction, so that bad input costs no database work.
        store::check(&mut fields.clone())?;
        let tags: Vec<entity::PersonTagKind> = input
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let (fields, tags) = (&fields, &tags);
        let model = create_once::<person::Entity, _, _>(
            ctx,
            "createPerson",
            key,
            &hash,
            move |w, id| async move { store::create(&w, id, fields.clone(), tags).await },
        )
        .await?;
        Ok(CreatePersonPayload {
            person: Person(model),
        })
    }

    async fn update_person(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePersonInput,
        expected_version: Option<i32>,
    ) -> ApiResult<UpdatePersonPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let id = id_of::<person::Entity>(&id, "id")?;
        let changes = PersonChanges {
            name: required("name", input.name)?
                .map(|n| text("name", &n, 100))
                .transpose()?,
            gender: patch(input.gender, |g| Ok(Some(g.into())))?,
            birth_date: patch(input.birth_date, |d| Ok(Some(d.0)))?,
            phone: patch(input.phone, |p| Ok(token(Some(&p))))?,
            id_number: patch(input.id_number, |n| Ok(token(Some(&n))))?,
            grid_id: required("gridId", input.grid_id)?
                .map(|g| id_of::<grid::Entity>(&g, "gridId"))
                .transpose()?,
            address: patch(input.address, |a| opt_text("address", Some(&a), 300))?,
        };
        let model = write(ctx, |w| {
            let changes = changes.clone();
            async move { store::update(&w, id, expected_version, move |f| changes.apply(f)).await }
        })
        .await?;
        Ok(UpdatePersonPayload {
            person: Person(model),
        })
    }

    /// Deletes a person without participation records (CONFLICT otherwise); tags,
    /// memberships and grid assignments go with them.
    async fn delete_person(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> ApiResult<DeletePersonPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let key = id_of::<person::Entity>(&id, "id")?;
        write(ctx, move |w| async move {
            store::delete(&w, key, expected_version).await
        })
        .await?;
        Ok(DeletePersonPayload {
            deleted_id: global_id("Person", key),
        })
    }

    /// Erases a person's personal data at their request (PIPL Art. 47), irreversibly: name,
    /// ID number, phone, address and birth date are removed, including from earlier audit
    /// snapshots; participation rows stay, de-identified, for statistics. The person is then
    /// gone for every caller (`node` is null, the change feed records a deletion). ADMIN only;
    /// `reason` (1–500 characters) goes into the audit entry.
    async fn erase_person(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> ApiResult<ErasePersonPayload> {
        super::caller(ctx)?.require_write(super::ADMIN)?;
        let key = id_of::<person::Entity>(&id, "id")?;
        let reason = text("reason", &reason, 500)?;
        let reason = &reason;
        write(
            ctx,
            move |w| async move { store::erase(&w, key, reason).await },
        )
        .await?;
        Ok(ErasePersonPayload {
            erased_id: global_id("Person", key),
        })
    }

    /// Replaces the care tags of a person.
    async fn set_person_tags(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        tags: Vec<PersonTag>,
        expected_version: Option<i32>,
    ) -> ApiResult<SetPersonTagsPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let id = id_of::<person::Entity>(&person_id, "personId")?;
        let tags: Vec<entity::PersonTagKind> = tags.into_iter().map(Into::into).collect();
        let tags = &tags;
        let model = write(ctx, move |w| async move {
            store::set_tags(&w, id, tags, expected_version).await
        })
        .await?;
        Ok(SetPersonTagsPayload {
            person: Person(model),
        })
    }
}
