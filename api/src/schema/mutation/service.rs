//! Service mutations.

use super::{create_once, write};
use crate::error::ApiResult;
use crate::schema::input::{Patch, apply, opt_long_text, opt_text, patch, required, text};
use crate::schema::relay::id_of;
use crate::schema::scalars::{ServiceCategory, ServiceStatus};
use crate::schema::service::Service;
use crate::store::service::{self as store, ServiceFields};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{grid, organization, service};
use serde::Serialize;
use uuid::Uuid;

#[derive(InputObject, Serialize)]
pub struct CreateServiceInput {
    pub grid_id: ID,
    pub organizer_id: ID,
    pub title: String,
    pub description: Option<String>,
    pub category: ServiceCategory,
    pub starts_at: DateTime<Utc>,
    /// Must be after `startsAt`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Places; null for unlimited.
    pub capacity: Option<i32>,
    pub location: Option<String>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateServiceInput {
    pub grid_id: MaybeUndefined<ID>,
    pub organizer_id: MaybeUndefined<ID>,
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub category: MaybeUndefined<ServiceCategory>,
    pub starts_at: MaybeUndefined<DateTime<Utc>>,
    pub ends_at: MaybeUndefined<DateTime<Utc>>,
    /// Cannot go below the places already taken.
    pub capacity: MaybeUndefined<i32>,
    pub location: MaybeUndefined<String>,
}

#[derive(SimpleObject)]
pub struct CreateServicePayload {
    pub service: Service,
}
#[derive(SimpleObject)]
pub struct UpdateServicePayload {
    pub service: Service,
}
#[derive(SimpleObject)]
pub struct TransitionServicePayload {
    pub service: Service,
}

/// Times are stored with microsecond precision on both databases.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
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
        input: CreateServiceInput,
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

    async fn update_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateServiceInput,
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
        id: ID,
        to: ServiceStatus,
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
