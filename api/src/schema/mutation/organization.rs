//! Organisation, membership and grid-worker mutations.

use super::{create_once, deleted_payload, write};
use crate::error::{ApiError, ApiResult};
use crate::schema::input::{Patch, apply, opt_text, patch, required, text};
use crate::schema::organization::{GridAssignment, Membership, Organization};
use crate::schema::relay::{gid, id_of};
use crate::schema::scalars::{Date, GridWorkerRole, MembershipRole, OrganizationKind};
use crate::store::organization::{self as store, OrganizationFields};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{grid, membership, organization, person};
use serde::Serialize;

/// Fields of a new organisation for `createOrganization`.
#[derive(InputObject, Serialize)]
pub struct CreateOrganizationInput {
    /// Name, 1–200 characters.
    pub name: String,
    /// What kind of body it is.
    pub kind: OrganizationKind,
    /// Contact person's name, at most 100 characters.
    pub contact_name: Option<String>,
    /// Contact phone (mobile or landline): digits, spaces, `+`, `-`, parentheses.
    pub contact_phone: Option<String>,
    /// Contact e-mail address.
    pub contact_email: Option<String>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Changes to an organisation for `updateOrganization`. Omitted fields keep their value; null
/// clears an optional field (`BAD_USER_INPUT` on a required one).
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// New name, 1–200 characters.
    pub name: MaybeUndefined<String>,
    /// New kind.
    pub kind: MaybeUndefined<OrganizationKind>,
    /// New contact name; null clears it.
    pub contact_name: MaybeUndefined<String>,
    /// New contact phone; null clears it.
    pub contact_phone: MaybeUndefined<String>,
    /// New contact e-mail address; null clears it.
    pub contact_email: MaybeUndefined<String>,
}

/// A new membership for `addMembership`.
#[derive(InputObject)]
pub struct AddMembershipInput {
    /// The person who joins (global id).
    pub person_id: ID,
    /// The organisation joined (global id).
    pub organization_id: ID,
    /// The member's role; MEMBER when omitted.
    #[graphql(default_with = "MembershipRole::Member")]
    pub role: MembershipRole,
    /// Defaults to today (UTC).
    pub joined_on: Option<Date>,
}

/// Result of `createOrganization`.
#[derive(SimpleObject)]
pub struct CreateOrganizationPayload {
    /// The organisation as it is after the mutation.
    pub organization: Organization,
}
/// Result of `updateOrganization`.
#[derive(SimpleObject)]
pub struct UpdateOrganizationPayload {
    /// The organisation as it is after the mutation.
    pub organization: Organization,
}
/// Result of `addMembership`.
#[derive(SimpleObject)]
pub struct AddMembershipPayload {
    /// The new membership.
    pub membership: Membership,
}
deleted_payload!(
    /// Result of `removeMembership`.
    RemoveMembershipPayload
);
/// Result of `assignGridWorker`.
#[derive(SimpleObject)]
pub struct AssignGridWorkerPayload {
    /// The new grid assignment.
    pub grid_assignment: GridAssignment,
}
deleted_payload!(
    /// Result of `unassignGridWorker`.
    UnassignGridWorkerPayload
);

/// A contact phone (mobile or landline): digits, spaces, `+`, `-`, parentheses.
fn contact_phone(field: &str, v: Option<&str>) -> ApiResult<Option<String>> {
    let v = opt_text(field, v, 20)?;
    if let Some(p) = &v
        && !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be a phone number"),
        ));
    }
    Ok(v)
}

fn contact_email(field: &str, v: Option<&str>) -> ApiResult<Option<String>> {
    let v = opt_text(field, v, 200)?;
    if let Some(e) = &v {
        let ok = e
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !e.contains(' '));
        if !ok {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}` must be an e-mail address"),
            ));
        }
    }
    Ok(v)
}

#[derive(Clone, Default)]
struct OrganizationChanges {
    name: Option<String>,
    kind: Option<entity::OrganizationKind>,
    contact_name: Patch<String>,
    contact_phone: Patch<String>,
    contact_email: Patch<String>,
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates an organisation (ADMIN). Retries with the same `idempotencyKey` return the
    /// first organisation.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new organisation.")] input: CreateOrganizationInput,
    ) -> ApiResult<CreateOrganizationPayload> {
        super::caller(ctx)?.require_write(super::ADMIN)?;
        let key = idempotency_key(&input.idempotency_key)?;
        let hash = input_hash(&input);
        let fields = OrganizationFields {
            name: text("name", &input.name, 200)?,
            kind: input.kind.into(),
            contact_name: opt_text("contactName", input.contact_name.as_deref(), 100)?,
            contact_phone: contact_phone("contactPhone", input.contact_phone.as_deref())?,
            contact_email: contact_email("contactEmail", input.contact_email.as_deref())?,
        };
        let fields = &fields;
        let model = create_once::<organization::Entity, _, _>(
            ctx,
            "createOrganization",
            key,
            &hash,
            move |w, id| async move { store::create(&w, id, fields.clone()).await },
        )
        .await?;
        Ok(CreateOrganizationPayload {
            organization: Organization(model),
        })
    }

    /// Changes an organisation's fields (ADMIN).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the organisation to change.")] id: ID,
        #[graphql(desc = "The fields to change.")] input: UpdateOrganizationInput,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<UpdateOrganizationPayload> {
        super::caller(ctx)?.require_write(super::ADMIN)?;
        let id = id_of::<organization::Entity>(&id, "id")?;
        let changes = OrganizationChanges {
            name: required("name", input.name)?
                .map(|n| text("name", &n, 200))
                .transpose()?,
            kind: required("kind", input.kind)?.map(Into::into),
            contact_name: patch(input.contact_name, |v| {
                opt_text("contactName", Some(&v), 100)
            })?,
            contact_phone: patch(input.contact_phone, |v| {
                contact_phone("contactPhone", Some(&v))
            })?,
            contact_email: patch(input.contact_email, |v| {
                contact_email("contactEmail", Some(&v))
            })?,
        };
        let model = write(ctx, |w| {
            let c = changes.clone();
            async move {
                store::update(&w, id, expected_version, move |f| {
                    if let Some(n) = c.name {
                        f.name = n;
                    }
                    if let Some(k) = c.kind {
                        f.kind = k;
                    }
                    apply(&mut f.contact_name, c.contact_name);
                    apply(&mut f.contact_phone, c.contact_phone);
                    apply(&mut f.contact_email, c.contact_email);
                })
                .await
            }
        })
        .await?;
        Ok(UpdateOrganizationPayload {
            organization: Organization(model),
        })
    }

    /// Makes a person a member of an organisation (ADMIN); `CONFLICT` when they already are.
    async fn add_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who joins which organisation, in which role.")] input: AddMembershipInput,
    ) -> ApiResult<AddMembershipPayload> {
        super::caller(ctx)?.require_write(super::ADMIN)?;
        let person = id_of::<person::Entity>(&input.person_id, "personId")?;
        let org = id_of::<organization::Entity>(&input.organization_id, "organizationId")?;
        let joined = input
            .joined_on
            .map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
        let role = input.role.into();
        let model = write(ctx, move |w| async move {
            store::add_membership(&w, person, org, role, joined).await
        })
        .await?;
        Ok(AddMembershipPayload {
            membership: Membership(model),
        })
    }

    /// Ends a membership (ADMIN).
    async fn remove_membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the membership to end.")] id: ID,
    ) -> ApiResult<RemoveMembershipPayload> {
        super::caller(ctx)?.require_write(super::ADMIN)?;
        let key = id_of::<membership::Entity>(&id, "id")?;
        write(ctx, move |w| async move {
            store::remove_membership(&w, key).await
        })
        .await?;
        Ok(RemoveMembershipPayload {
            deleted_id: gid::<membership::Entity>(key),
        })
    }

    /// Makes a person responsible for a grid.
    async fn assign_grid_worker(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the grid.")] grid_id: ID,
        #[graphql(desc = "Global id of the person who becomes responsible.")] person_id: ID,
        #[graphql(desc = "The person's role in the grid.")] role: GridWorkerRole,
        #[graphql(desc = "Defaults to today (UTC).")] since: Option<Date>,
    ) -> ApiResult<AssignGridWorkerPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let grid = id_of::<grid::Entity>(&grid_id, "gridId")?;
        let person = id_of::<person::Entity>(&person_id, "personId")?;
        let since = since.map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
        let role = role.into();
        let model = write(ctx, move |w| async move {
            store::assign_worker(&w, grid, person, role, since).await
        })
        .await?;
        Ok(AssignGridWorkerPayload {
            grid_assignment: GridAssignment(model),
        })
    }

    /// Ends a person's responsibility for a grid (NOT_FOUND when there is none).
    async fn unassign_grid_worker(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the grid.")] grid_id: ID,
        #[graphql(desc = "Global id of the grid worker.")] person_id: ID,
    ) -> ApiResult<UnassignGridWorkerPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let grid = id_of::<grid::Entity>(&grid_id, "gridId")?;
        let person = id_of::<person::Entity>(&person_id, "personId")?;
        let removed = write(ctx, move |w| async move {
            store::unassign_worker(&w, grid, person).await
        })
        .await?;
        Ok(UnassignGridWorkerPayload {
            deleted_id: gid::<entity::grid_assignment::Entity>(removed),
        })
    }
}
