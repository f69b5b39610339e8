//! The personal-data access log: one row per person whose personal data a request showed
//! unmasked, with the fields shown.

use crate::store::write::Actor;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Writes the access-log rows of `reads` (person, field), one per person.
pub async fn log_reads(
    db: &DatabaseConnection,
    actor: &Actor,
    reads: Vec<(Uuid, &'static str)>,
) -> Result<(), DbErr> {
    let mut by_person: BTreeMap<Uuid, BTreeSet<&str>> = BTreeMap::new();
    for (person, field) in reads {
        by_person.entry(person).or_default().insert(field);
    }
    if by_person.is_empty() {
        return Ok(());
    }
    let now = crate::store::write::now();
    let rows: Vec<_> = by_person
        .into_iter()
        .map(|(person_id, fields)| {
            entity::pii_access_log::Model {
                id: Uuid::now_v7(),
                actor: actor.id.clone(),
                person_id,
                fields: fields.into_iter().collect::<Vec<_>>().join(","),
                request_id: actor.request_id.clone(),
                client_request_id: actor.client_request_id.clone(),
                created_at: now,
                updated_at: now,
                version: 1,
            }
            .into_active_model()
            .reset_all()
        })
        .collect();
    for chunk in rows.chunks(500) {
        entity::pii_access_log::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
