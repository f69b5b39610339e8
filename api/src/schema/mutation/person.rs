//! Person mutations.

use super::{create_once, deleted_payload, write};
use crate::error::ApiResult;
use crate::schema::input::{Patch, apply, opt_text, patch, required, text};
use crate::schema::person::Person;
use crate::schema::relay::{gid, id_of};
use crate::schema::scalars::{Date, Gender, PersonTag};
use crate::store::person::{self as store, PersonFields};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::NaiveDate;
use entity::{grid, person};
use serde::Serialize;
use uuid::Uuid;

/// Fields of a new person for `createPerson`.
#[derive(InputObject, Serialize)]
pub struct CreatePersonInput {
    /// Full name, 1–100 characters.
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
    /// Home address, at most 300 characters.
    pub address: Option<String>,
    /// Care tags to set from the start.
    pub tags: Option<Vec<PersonTag>>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Changes to a person for `updatePerson`. Omitted fields keep their value; null
/// clears an optional field (`BAD_USER_INPUT` on a required one).
#[derive(InputObject)]
pub struct UpdatePersonInput {
    /// New full name, 1–100 characters.
    pub name: MaybeUndefined<String>,
    /// New gender; null clears it.
    pub gender: MaybeUndefined<Gender>,
    /// New birth date; null clears it.
    pub birth_date: MaybeUndefined<Date>,
    /// New mobile number (11 digits starting with 1); null clears it.
    pub phone: MaybeUndefined<String>,
    /// New 18-character resident ID number; null clears it.
    pub id_number: MaybeUndefined<String>,
    /// New home grid (global id).
    pub grid_id: MaybeUndefined<ID>,
    /// New home address, at most 300 characters; null clears it.
    pub address: MaybeUndefined<String>,
}

/// Result of `createPerson`.
#[derive(SimpleObject)]
pub struct CreatePersonPayload {
    /// The person as it is after the mutation.
    pub person: Person,
}
/// Result of `updatePerson`.
#[derive(SimpleObject)]
pub struct UpdatePersonPayload {
    /// The person as it is after the mutation.
    pub person: Person,
}
/// Result of `setPersonTags`.
#[derive(SimpleObject)]
pub struct SetPersonTagsPayload {
    /// The person as it is after the mutation.
    pub person: Person,
}
deleted_payload!(
    /// Result of `deletePerson`.
    DeletePersonPayload
);

/// Result of `erasePerson`.
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
    /// Records a person with their home grid (ADMIN; GRID_MANAGER for grids in its subtrees).
    /// Retries with the same `idempotencyKey` return the first person.
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new person.")] input: CreatePersonInput,
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

    /// Changes a person's fields (ADMIN; GRID_MANAGER for people in its subtrees).
    async fn update_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the person to change.")] id: ID,
        #[graphql(desc = "The fields to change.")] input: UpdatePersonInput,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
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
        #[graphql(desc = "Global id of the person to delete.")] id: ID,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<DeletePersonPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let key = id_of::<person::Entity>(&id, "id")?;
        write(ctx, move |w| async move {
            store::delete(&w, key, expected_version).await
        })
        .await?;
        Ok(DeletePersonPayload {
            deleted_id: gid::<person::Entity>(key),
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
        #[graphql(desc = "Global id of the person whose personal data is erased.")] id: ID,
        #[graphql(
            desc = "Why (the request and its reference), 1–500 characters; kept in the audit entry."
        )]
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
            erased_id: gid::<person::Entity>(key),
        })
    }

    /// Replaces the care tags of a person.
    async fn set_person_tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the person.")] person_id: ID,
        #[graphql(desc = "The complete new set of care tags (empty removes all).")] tags: Vec<
            PersonTag,
        >,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
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
