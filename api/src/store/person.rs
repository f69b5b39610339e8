//! Person writes: resident ID and mobile number rules, tags.

use super::write::{Writer, check_version, db, snapshot};
use crate::error::{ApiError, ApiResult};
use crate::validate;
use chrono::NaiveDate;
use entity::{
    Gender, PersonTagKind, audit_log, grid, grid_assignment, participation, person, person_tag,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The fields of a person a write may set.
#[derive(Clone, Default)]
pub struct PersonFields {
    pub name: String,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub grid_id: Uuid,
    pub address: Option<String>,
}

/// Checks the ID number (GB 11643) and mobile number, and that the birth date and sex the ID
/// number encodes agree with the given ones; fills them in from the ID number when absent.
/// Error messages never repeat the values (personal data).
pub fn check(fields: &mut PersonFields) -> ApiResult<()> {
    if let Some(phone) = &fields.phone {
        validate::validate_mobile(phone)
            .map_err(|why| ApiError::bad_input("phone", format!("invalid mobile number: {why}")))?;
    }
    if let Some(id_number) = &fields.id_number {
        let info = validate::validate_id_number(id_number).map_err(|why| {
            ApiError::bad_input("idNumber", format!("invalid resident ID number: {why}"))
        })?;
        match fields.birth_date {
            Some(d) if d != info.birth_date => {
                return Err(ApiError::bad_input(
                    "birthDate",
                    "birthDate does not match the birth date in idNumber",
                ));
            }
            _ => fields.birth_date = Some(info.birth_date),
        }
        match fields.gender {
            Some(g) if g != info.gender => {
                return Err(ApiError::bad_input(
                    "gender",
                    "gender does not match the sex encoded in idNumber",
                ));
            }
            _ => fields.gender = Some(info.gender),
        }
    }
    if let Some(d) = fields.birth_date
        && d > chrono::Utc::now().date_naive()
    {
        return Err(ApiError::bad_input(
            "birthDate",
            "birthDate is in the future",
        ));
    }
    Ok(())
}

async fn ensure_id_number_free(
    w: &Writer,
    id_number: &Option<String>,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let Some(n) = id_number else { return Ok(()) };
    let mut q = person::Entity::find().filter(person::Column::IdNumber.eq(n.as_str()));
    if let Some(id) = except {
        q = q.filter(person::Column::Id.ne(id));
    }
    if q.count(&w.txn).await.map_err(db)? > 0 {
        return Err(ApiError::Conflict {
            message: "another person already has this ID number".into(),
            reason: Some("ID_NUMBER_TAKEN"),
            details: vec![("field".into(), "idNumber".into())],
        });
    }
    Ok(())
}

pub async fn create(
    w: &Writer,
    id: Uuid,
    mut fields: PersonFields,
    tags: &[PersonTagKind],
) -> ApiResult<person::Model> {
    check(&mut fields)?;
    w.get::<grid::Entity>(fields.grid_id, "gridId").await?;
    ensure_id_number_free(w, &fields.id_number, None).await?;
    let model = person::Model {
        id,
        name: fields.name,
        gender: fields.gender,
        birth_date: fields.birth_date,
        phone: fields.phone,
        id_number: fields.id_number,
        grid_id: fields.grid_id,
        address: fields.address,
        erased_at: None,
        created_at: w.now,
        updated_at: w.now,
        version: 1,
    };
    let model = w.insert::<person::Entity>(model).await?;
    insert_tags(w, id, tags).await?;
    w.created::<person::Entity>(&[id]).await?;
    let mut after = snapshot(&model);
    after["tags"] = serde_json::to_value(tags).unwrap_or_default();
    w.audit("createPerson", "Person", id, None, Some(after), None)
        .await?;
    Ok(model)
}

async fn insert_tags(w: &Writer, person_id: Uuid, tags: &[PersonTagKind]) -> ApiResult<()> {
    let mut seen = BTreeSet::new();
    for tag in tags {
        if !seen.insert(tag_name(*tag)) {
            continue;
        }
        let row = person_tag::Model {
            id: Uuid::now_v7(),
            person_id,
            tag: *tag,
            created_at: w.now,
            updated_at: w.now,
            version: 1,
        };
        w.insert::<person_tag::Entity>(row).await?;
    }
    Ok(())
}

fn tag_name(t: PersonTagKind) -> &'static str {
    match t {
        PersonTagKind::ElderlyLivingAlone => "ELDERLY_LIVING_ALONE",
        PersonTagKind::Disabled => "DISABLED",
        PersonTagKind::KeyCare => "KEY_CARE",
        PersonTagKind::HealthMonitoring => "HEALTH_MONITORING",
    }
}

/// Applies `change` to the current fields of a person and saves them.
pub async fn update(
    w: &Writer,
    id: Uuid,
    expected: Option<i32>,
    change: impl FnOnce(&mut PersonFields) -> ApiResult<()>,
) -> ApiResult<person::Model> {
    let current = w.lock::<person::Entity>(id).await?;
    check_version(current.version, expected)?;
    let mut fields = PersonFields {
        name: current.name.clone(),
        gender: current.gender,
        birth_date: current.birth_date,
        phone: current.phone.clone(),
        id_number: current.id_number.clone(),
        grid_id: current.grid_id,
        address: current.address.clone(),
    };
    change(&mut fields)?;
    check(&mut fields)?;
    if fields.grid_id != current.grid_id {
        w.get::<grid::Entity>(fields.grid_id, "gridId").await?;
    }
    if fields.id_number != current.id_number {
        ensure_id_number_free(w, &fields.id_number, Some(id)).await?;
    }
    let next = person::Model {
        name: fields.name,
        gender: fields.gender,
        birth_date: fields.birth_date,
        phone: fields.phone,
        id_number: fields.id_number,
        grid_id: fields.grid_id,
        address: fields.address,
        ..current.clone()
    };
    w.update_tracked::<person::Entity>("updatePerson", &current, next, None)
        .await
}

pub async fn delete(w: &Writer, id: Uuid, expected: Option<i32>) -> ApiResult<Uuid> {
    let current = w.lock::<person::Entity>(id).await?;
    check_version(current.version, expected)?;
    let taken = participation::Entity::find()
        .filter(participation::Column::PersonId.eq(id))
        .count(&w.txn)
        .await
        .map_err(db)?;
    if taken > 0 {
        return Err(ApiError::Conflict {
            message: format!("the person has {taken} participation records, which are kept"),
            reason: Some("PERSON_HAS_PARTICIPATIONS"),
            details: vec![("participations".into(), taken.into())],
        });
    }
    // The tombstone reaches the organisations the person belonged to.
    let scope = w.scopes::<person::Entity>(&[id]).await?;
    let worker_of: Vec<Uuid> = grid_assignment::Entity::find()
        .select_only()
        .column(grid_assignment::Column::GridId)
        .filter(grid_assignment::Column::PersonId.eq(id))
        .into_tuple()
        .all(&w.txn)
        .await
        .map_err(db)?;
    // Tags, memberships and grid assignments go with the person (ON DELETE CASCADE).
    person::Entity::delete_by_id(id)
        .exec(&w.txn)
        .await
        .map_err(db)?;
    w.deleted::<person::Entity>(&scope).await?;
    let grids = w.scopes::<grid::Entity>(&worker_of).await?;
    w.updated::<grid::Entity>(&grids).await?;
    w.audit(
        "deletePerson",
        "Person",
        id,
        Some(snapshot(&current)),
        None,
        None,
    )
    .await?;
    Ok(id)
}

/// Erases a person's personal data (PIPL Art. 47), irreversibly: name, ID number, phone,
/// address and birth date are removed, and so are the snapshots of them in the audit trail.
/// The row stays, de-identified (home grid, gender, tags), so that its participations still
/// count in statistics; from now on the person is invisible to every caller, and the change
/// feed records a deletion for those who saw it. The PII access log keeps only the person's id.
pub async fn erase(w: &Writer, id: Uuid, reason: &str) -> ApiResult<Uuid> {
    let current = w.lock::<person::Entity>(id).await?;
    let scope = w.scopes::<person::Entity>(&[id]).await?;
    let erased = person::Model {
        name: String::new(),
        birth_date: None,
        phone: None,
        id_number: None,
        address: None,
        erased_at: Some(super::write::now()),
        ..current.clone()
    };
    w.update::<person::Entity>(erased, current.version).await?;
    // Earlier snapshots hold the data being erased (masked phone and ID number, but the name,
    // address and birth year in clear).
    audit_log::Entity::update_many()
        .col_expr(
            audit_log::Column::Before,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            audit_log::Column::After,
            Expr::value(Option::<String>::None),
        )
        .filter(audit_log::Column::EntityType.eq("Person"))
        .filter(audit_log::Column::EntityId.eq(id))
        .exec(&w.txn)
        .await
        .map_err(db)?;
    super::incident::erase_reporter(w, id).await?;
    w.deleted::<person::Entity>(&scope).await?;
    w.audit(
        "erasePerson",
        "Person",
        id,
        None,
        None,
        Some(serde_json::json!({ "reason": reason })),
    )
    .await?;
    Ok(id)
}

/// Replaces the tags of a person; bumps the person's version.
pub async fn set_tags(
    w: &Writer,
    id: Uuid,
    tags: &[PersonTagKind],
    expected: Option<i32>,
) -> ApiResult<person::Model> {
    let current = w.lock::<person::Entity>(id).await?;
    check_version(current.version, expected)?;
    let old: Vec<PersonTagKind> = person_tag::Entity::find()
        .filter(person_tag::Column::PersonId.eq(id))
        .order_by_asc(person_tag::Column::Tag)
        .all(&w.txn)
        .await
        .map_err(db)?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    person_tag::Entity::delete_many()
        .filter(person_tag::Column::PersonId.eq(id))
        .exec(&w.txn)
        .await
        .map_err(db)?;
    insert_tags(w, id, tags).await?;
    let saved = w
        .update::<person::Entity>(current.clone(), current.version)
        .await?;
    w.touched::<person::Entity>(&[id]).await?;
    let before = serde_json::json!({ "tags": old });
    let after = serde_json::json!({ "tags": tags });
    w.audit(
        "setPersonTags",
        "Person",
        id,
        Some(before),
        Some(after),
        None,
    )
    .await?;
    Ok(saved)
}
