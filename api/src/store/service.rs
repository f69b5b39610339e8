//! Service writes: times, capacity and the life cycle.

use super::changes::Scopes;
use super::write::{Writer, check_version, db, snapshot};
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use entity::{
    ParticipationStatus, ServiceCategory, ServiceStatus, grid, organization, participation, service,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// The fields of a service a write may set.
#[derive(Clone)]
pub struct ServiceFields {
    pub grid_id: Uuid,
    pub organizer_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub category: ServiceCategory,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub capacity: Option<i32>,
    pub location: Option<String>,
}

fn check(f: &ServiceFields) -> ApiResult<()> {
    if let Some(end) = f.ends_at
        && end <= f.starts_at
    {
        return Err(ApiError::bad_input(
            "endsAt",
            "endsAt must be after startsAt",
        ));
    }
    if let Some(c) = f.capacity
        && c < 0
    {
        return Err(ApiError::bad_input(
            "capacity",
            "capacity must be 0 or more (null for unlimited)",
        ));
    }
    Ok(())
}

pub fn status_name(s: ServiceStatus) -> &'static str {
    match s {
        ServiceStatus::Draft => "DRAFT",
        ServiceStatus::Published => "PUBLISHED",
        ServiceStatus::InProgress => "IN_PROGRESS",
        ServiceStatus::Completed => "COMPLETED",
        ServiceStatus::Cancelled => "CANCELLED",
    }
}

pub async fn create(w: &Writer, id: Uuid, f: ServiceFields) -> ApiResult<service::Model> {
    check(&f)?;
    w.get::<grid::Entity>(f.grid_id, "gridId").await?;
    w.get::<organization::Entity>(f.organizer_id, "organizerId")
        .await?;
    let model = service::Model {
        id,
        grid_id: f.grid_id,
        organizer_id: f.organizer_id,
        title: f.title,
        description: f.description,
        category: f.category,
        status: ServiceStatus::Draft,
        starts_at: f.starts_at,
        ends_at: f.ends_at,
        capacity: f.capacity,
        location: f.location,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    let model = w.insert::<service::Entity>(model).await?;
    w.created::<service::Entity>(&[id]).await?;
    w.audit(
        "createService",
        "Service",
        id,
        None,
        Some(snapshot(&model)),
        None,
    )
    .await?;
    Ok(model)
}

/// Participations holding a place in `service` (all but cancelled ones).
pub async fn places_taken(w: &Writer, service: Uuid) -> ApiResult<u64> {
    participation::Entity::find()
        .filter(participation::Column::ServiceId.eq(service))
        .filter(participation::Column::Status.ne(ParticipationStatus::Cancelled))
        .count(&w.txn)
        .await
        .map_err(db)
}

pub async fn update(
    w: &Writer,
    id: Uuid,
    expected: Option<i32>,
    change: impl FnOnce(&mut ServiceFields),
) -> ApiResult<service::Model> {
    let current = w.lock::<service::Entity>(id).await?;
    check_version(current.version, expected)?;
    let mut f = ServiceFields {
        grid_id: current.grid_id,
        organizer_id: current.organizer_id,
        title: current.title.clone(),
        description: current.description.clone(),
        category: current.category,
        starts_at: current.starts_at,
        ends_at: current.ends_at,
        capacity: current.capacity,
        location: current.location.clone(),
    };
    change(&mut f);
    check(&f)?;
    if f.grid_id != current.grid_id {
        w.get::<grid::Entity>(f.grid_id, "gridId").await?;
    }
    if f.organizer_id != current.organizer_id {
        w.get::<organization::Entity>(f.organizer_id, "organizerId")
            .await?;
    }
    if let Some(capacity) = f.capacity
        && f.capacity != current.capacity
    {
        let taken = places_taken(w, id).await?;
        if u64::try_from(capacity).unwrap_or(0) < taken {
            return Err(ApiError::Conflict {
                message: format!("{taken} places are already taken; capacity cannot be {capacity}"),
                reason: Some("CAPACITY_BELOW_PARTICIPANTS"),
                details: vec![
                    ("field".into(), "capacity".into()),
                    ("participantCount".into(), taken.into()),
                ],
            });
        }
    }
    // Participations are placed by their service's grid: a move changes who sees them.
    let moved = if f.grid_id == current.grid_id {
        Scopes::new()
    } else {
        let ids: Vec<Uuid> = participation::Entity::find()
            .select_only()
            .column(participation::Column::Id)
            .filter(participation::Column::ServiceId.eq(id))
            .into_tuple()
            .all(&w.txn)
            .await
            .map_err(db)?;
        w.scopes::<participation::Entity>(&ids).await?
    };
    let next = service::Model {
        grid_id: f.grid_id,
        organizer_id: f.organizer_id,
        title: f.title,
        description: f.description,
        category: f.category,
        starts_at: f.starts_at,
        ends_at: f.ends_at,
        capacity: f.capacity,
        location: f.location,
        ..current.clone()
    };
    let saved = w
        .update_tracked::<service::Entity>("updateService", &current, next, None)
        .await?;
    w.updated::<participation::Entity>(&moved).await?;
    Ok(saved)
}

/// DRAFT → PUBLISHED → IN_PROGRESS → COMPLETED, and any state but COMPLETED → CANCELLED.
pub fn allowed(from: ServiceStatus, to: ServiceStatus) -> bool {
    use ServiceStatus::*;
    matches!(
        (from, to),
        (Draft, Published)
            | (Published, InProgress)
            | (InProgress, Completed)
            | (Draft | Published | InProgress, Cancelled)
    )
}

pub async fn transition(
    w: &Writer,
    id: Uuid,
    to: ServiceStatus,
    expected: Option<i32>,
) -> ApiResult<service::Model> {
    let current = w.lock::<service::Entity>(id).await?;
    check_version(current.version, expected)?;
    if !allowed(current.status, to) {
        return Err(ApiError::Conflict {
            message: format!(
                "a {} service cannot become {}",
                status_name(current.status),
                status_name(to)
            ),
            reason: Some("INVALID_TRANSITION"),
            details: vec![("currentStatus".into(), status_name(current.status).into())],
        });
    }
    let next = service::Model {
        status: to,
        ..current.clone()
    };
    w.update_tracked::<service::Entity>("transitionService", &current, next, None)
        .await
}
