//! Organisation, membership and grid-worker writes.

use super::write::{Writer, check_version, db, snapshot};
use crate::error::{ApiError, ApiResult};
use chrono::NaiveDate;
use entity::{
    GridWorkerRole, MembershipRole, OrganizationKind, grid, grid_assignment, membership,
    organization, person,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The fields of an organisation a write may set.
#[derive(Clone)]
pub struct OrganizationFields {
    pub name: String,
    pub kind: OrganizationKind,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
}

pub async fn create(w: &Writer, id: Uuid, f: OrganizationFields) -> ApiResult<organization::Model> {
    let model = organization::Model {
        id,
        name: f.name,
        kind: f.kind,
        contact_name: f.contact_name,
        contact_phone: f.contact_phone,
        contact_email: f.contact_email,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    let model = w.insert::<organization::Entity>(model).await?;
    w.created::<organization::Entity>(&[id]).await?;
    w.audit(
        "createOrganization",
        "Organization",
        id,
        None,
        Some(snapshot(&model)),
        None,
    )
    .await?;
    Ok(model)
}

pub async fn update(
    w: &Writer,
    id: Uuid,
    expected: Option<i32>,
    change: impl FnOnce(&mut OrganizationFields),
) -> ApiResult<organization::Model> {
    let current = w.lock::<organization::Entity>(id).await?;
    check_version(current.version, expected)?;
    let mut f = OrganizationFields {
        name: current.name.clone(),
        kind: current.kind,
        contact_name: current.contact_name.clone(),
        contact_phone: current.contact_phone.clone(),
        contact_email: current.contact_email.clone(),
    };
    change(&mut f);
    let next = organization::Model {
        name: f.name,
        kind: f.kind,
        contact_name: f.contact_name,
        contact_phone: f.contact_phone,
        contact_email: f.contact_email,
        ..current.clone()
    };
    w.update_tracked::<organization::Entity>("updateOrganization", &current, next, None)
        .await
}

pub async fn add_membership(
    w: &Writer,
    person_id: Uuid,
    organization_id: Uuid,
    role: MembershipRole,
    joined_on: NaiveDate,
) -> ApiResult<membership::Model> {
    w.get::<person::Entity>(person_id, "personId").await?;
    w.lock_field::<organization::Entity>(organization_id, "organizationId")
        .await?;
    let existing = membership::Entity::find()
        .filter(membership::Column::PersonId.eq(person_id))
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .one(&w.txn)
        .await
        .map_err(db)?;
    if existing.is_some() {
        return Err(ApiError::Conflict {
            message: "the person is already a member of this organisation".into(),
            reason: Some("ALREADY_MEMBER"),
            details: vec![("field".into(), "personId".into())],
        });
    }
    // A membership decides which organisations see the person: the person changes.
    let person_scope = w.scopes::<person::Entity>(&[person_id]).await?;
    let id = Uuid::now_v7();
    let model = membership::Model {
        id,
        person_id,
        organization_id,
        role,
        joined_on,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    let model = w.insert::<membership::Entity>(model).await?;
    w.updated::<person::Entity>(&person_scope).await?;
    w.audit(
        "addMembership",
        "Membership",
        id,
        None,
        Some(snapshot(&model)),
        None,
    )
    .await?;
    Ok(model)
}

pub async fn remove_membership(w: &Writer, id: Uuid) -> ApiResult<Uuid> {
    let current = w.lock::<membership::Entity>(id).await?;
    let person_scope = w.scopes::<person::Entity>(&[current.person_id]).await?;
    membership::Entity::delete_by_id(id)
        .exec(&w.txn)
        .await
        .map_err(db)?;
    w.updated::<person::Entity>(&person_scope).await?;
    w.audit(
        "removeMembership",
        "Membership",
        id,
        Some(snapshot(&current)),
        None,
        None,
    )
    .await?;
    Ok(id)
}

pub async fn assign_worker(
    w: &Writer,
    grid_id: Uuid,
    person_id: Uuid,
    role: GridWorkerRole,
    since: NaiveDate,
) -> ApiResult<grid_assignment::Model> {
    w.lock_field::<grid::Entity>(grid_id, "gridId").await?;
    w.get::<person::Entity>(person_id, "personId").await?;
    let existing = grid_assignment::Entity::find()
        .filter(grid_assignment::Column::GridId.eq(grid_id))
        .filter(grid_assignment::Column::PersonId.eq(person_id))
        .one(&w.txn)
        .await
        .map_err(db)?;
    if existing.is_some() {
        return Err(ApiError::Conflict {
            message: "the person is already assigned to this grid".into(),
            reason: Some("ALREADY_ASSIGNED"),
            details: vec![("field".into(), "personId".into())],
        });
    }
    let id = Uuid::now_v7();
    let model = grid_assignment::Model {
        id,
        grid_id,
        person_id,
        role,
        since,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    let model = w.insert::<grid_assignment::Entity>(model).await?;
    // Grid workers are part of the grid (`Grid.workers`).
    w.touched::<grid::Entity>(&[grid_id]).await?;
    w.audit(
        "assignGridWorker",
        "GridAssignment",
        id,
        None,
        Some(snapshot(&model)),
        None,
    )
    .await?;
    Ok(model)
}

pub async fn unassign_worker(w: &Writer, grid_id: Uuid, person_id: Uuid) -> ApiResult<Uuid> {
    w.lock_field::<grid::Entity>(grid_id, "gridId").await?;
    let current = grid_assignment::Entity::find()
        .filter(grid_assignment::Column::GridId.eq(grid_id))
        .filter(grid_assignment::Column::PersonId.eq(person_id))
        .one(&w.txn)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found("GridAssignment"))?;
    grid_assignment::Entity::delete_by_id(current.id)
        .exec(&w.txn)
        .await
        .map_err(db)?;
    w.touched::<grid::Entity>(&[grid_id]).await?;
    w.audit(
        "unassignGridWorker",
        "GridAssignment",
        current.id,
        Some(snapshot(&current)),
        None,
        None,
    )
    .await?;
    Ok(current.id)
}
