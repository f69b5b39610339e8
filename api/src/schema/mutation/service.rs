//! Service mutations.

use super::{create_once, write};
use crate::error::ApiResult;
use crate::schema::input::{Patch, apply, opt_long_text, opt_text, patch, required, text};
use crate::schema::relay::id_of;
use crate::schema::scalars::{DateTime as Instant, ServiceCategory, ServiceStatus};
use crate::schema::service::Service;
use crate::store::service::{self as store, ServiceFields};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{grid, organization, service};
use serde::Serialize;
use uuid::Uuid;

/// Fields of a new service for `createService`.
#[derive(InputObject, Serialize)]
pub struct CreateServiceInput {
    /// The grid the service is delivered in (global id).
    pub grid_id: ID,
    /// The organising organisation (global id).
    pub organizer_id: ID,
    /// Title, 1–200 characters, one line.
    pub title: String,
    /// Description, at most 5,000 characters; line breaks allowed.
    pub description: Option<String>,
    /// What the service is about.
    pub category: ServiceCategory,
    /// When the service starts.
    pub starts_at: Instant,
    /// Must be after `startsAt`.
    pub ends_at: Option<Instant>,
    /// Places; null for unlimited.
    pub capacity: Option<i32>,
    /// Where it takes place, at most 300 characters.
    pub location: Option<String>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Changes to a service for `updateService`. Omitted fields keep their value; null
/// clears an optional field (`BAD_USER_INPUT` on a required one).
#[derive(InputObject)]
pub struct UpdateServiceInput {
    /// New grid (global id).
    pub grid_id: MaybeUndefined<ID>,
    /// New organiser (global id).
    pub organizer_id: MaybeUndefined<ID>,
    /// New title, 1–200 characters.
    pub title: MaybeUndefined<String>,
    /// New description, at most 5,000 characters; null clears it.
    pub description: MaybeUndefined<String>,
    /// New category.
    pub category: MaybeUndefined<ServiceCategory>,
    /// New start.
    pub starts_at: MaybeUndefined<Instant>,
    /// New end, after `startsAt`; null makes the service open-ended.
    pub ends_at: MaybeUndefined<Instant>,
    /// Cannot go below the places already taken.
    pub capacity: MaybeUndefined<i32>,
    /// New location; null clears it.
    pub location: MaybeUndefined<String>,
}

/// Result of `createService`.
#[derive(SimpleObject)]
pub struct CreateServicePayload {
    /// The service as it is after the mutation.
    pub service: Service,
}
/// Result of `updateService`.
#[derive(SimpleObject)]
pub struct UpdateServicePayload {
    /// The service as it is after the mutation.
    pub service: Service,
}
/// Result of `transitionService`.
#[derive(SimpleObject)]
pub struct TransitionServicePayload {
    /// The service as it is after the mutation.
    pub service: Service,
}

/// Times are stored with microsecond precision on both databases.
fn micros(t: Instant) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.0.trunc_subsecs(6)
}

#[derive(Clone, Default)]
struct ServiceChanges {
    grid_id: Option<Uuid>,
    organizer_id: Option<Uuid>,
    title: Option<String>,
    description: Patch<String>,
    category: Option<entity::ServiceCategory>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Patch<DateTime<Utc>>,
    capacity: Patch<i32>,
    location: Patch<String>,
}

impl ServiceChanges {
    fn apply(self, f: &mut ServiceFields) {
        if let Some(v) = self.grid_id {
            f.grid_id = v;
        }
        if let Some(v) = self.organizer_id {
            f.organizer_id = v;
        }
        if let Some(v) = self.title {
            f.title = v;
        }
        if let Some(v) = self.category {
            f.category = v;
        }
        if let Some(v) = self.starts_at {
            f.starts_at = v;
        }
        apply(&mut f.description, self.description);
        apply(&mut f.ends_at, self.ends_at);
        apply(&mut f.capacity, self.capacity);
        apply(&mut f.location, self.location);
    }
}

#[derive(Default)]
pub struct ServiceMutation;

#[Object]
impl ServiceMutation {
    /// Creates a service in DRAFT.
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new service.")] input: CreateServiceInput,
    ) -> ApiResult<CreateServicePayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let key = idempotency_key(&input.idempotency_key)?;
        let hash = input_hash(&input);
        let fields = ServiceFields {
            grid_id: id_of::<grid::Entity>(&input.grid_id, "gridId")?,
            organizer_id: id_of::<organization::Entity>(&input.organizer_id, "organizerId")?,
            title: text("title", &input.title, 200)?,
            description: opt_long_text("description", input.description.as_deref(), 5000)?,
            category: input.category.into(),
            starts_at: micros(input.starts_at),
            ends_at: input.ends_at.map(micros),
            capacity: input.capacity,
            location: opt_text("location", input.location.as_deref(), 300)?,
        };
        let fields = &fields;
        let model = create_once::<service::Entity, _, _>(
            ctx,
            "createService",
            key,
            &hash,
            move |w, id| async move { store::create(&w, id, fields.clone()).await },
        )
        .await?;
        Ok(CreateServicePayload {
            service: Service(model),
        })
    }

    /// Changes a service's fields (ADMIN; GRID_MANAGER for services in its subtrees).
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the service to change.")] id: ID,
        #[graphql(desc = "The fields to change.")] input: UpdateServiceInput,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<UpdateServicePayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let id = id_of::<service::Entity>(&id, "id")?;
        let changes = ServiceChanges {
            grid_id: required("gridId", input.grid_id)?
                .map(|g| id_of::<grid::Entity>(&g, "gridId"))
                .transpose()?,
            organizer_id: required("organizerId", input.organizer_id)?
                .map(|o| id_of::<organization::Entity>(&o, "organizerId"))
                .transpose()?,
            title: required("title", input.title)?
                .map(|t| text("title", &t, 200))
                .transpose()?,
            description: patch(input.description, |d| {
                opt_long_text("description", Some(&d), 5000)
            })?,
            category: required("category", input.category)?.map(Into::into),
            starts_at: required("startsAt", input.starts_at)?.map(micros),
            ends_at: patch(input.ends_at, |t| Ok(Some(micros(t))))?,
            capacity: patch(input.capacity, |c| Ok(Some(c)))?,
            location: patch(input.location, |l| opt_text("location", Some(&l), 300))?,
        };
        let model = write(ctx, |w| {
            let c = changes.clone();
            async move { store::update(&w, id, expected_version, move |f| c.apply(f)).await }
        })
        .await?;
        Ok(UpdateServicePayload {
            service: Service(model),
        })
    }

    /// Moves a service along its life cycle: DRAFT → PUBLISHED → IN_PROGRESS → COMPLETED, or
    /// from any state but COMPLETED to CANCELLED. Anything else is CONFLICT naming the current
    /// state (`extensions.currentStatus`).
    async fn transition_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the service.")] id: ID,
        #[graphql(desc = "The status to move to.")] to: ServiceStatus,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<TransitionServicePayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let id = id_of::<service::Entity>(&id, "id")?;
        let to = to.into();
        let model = write(ctx, move |w| async move {
            store::transition(&w, id, to, expected_version).await
        })
        .await?;
        Ok(TransitionServicePayload {
            service: Service(model),
        })
    }
}
