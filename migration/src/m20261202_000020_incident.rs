//! Incidents (事件): categories with their deadlines, the incidents themselves, their history
//! (one row per transition or note, never rewritten) and the responsibility list (权责清单:
//! grid subtree × category → the organisation or grid worker who handles it).
//!
//! `incident.record_key` is drawn by the database, like the record keys of people and
//! participations (migration 000012), for the cell-key perturbation of incident counts shown to
//! agencies; the entity does not map it.

use crate::common::*;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let category = with_audit_columns(
            table("incident_category")
                .col(col("code").string_len(32).not_null())
                .col(col("name").string_len(100).not_null())
                .col(col("description").text().null())
                .col(col("parent_id").uuid().null())
                .col(col("default_severity").string_len(32).not_null())
                .col(col("accept_hours").integer().not_null())
                .col(col("close_hours").integer().not_null())
                .col(col("publicly_listed").boolean().not_null())
                .foreign_key(&mut fk(
                    "incident_category",
                    "parent_id",
                    "incident_category",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(category).await?;

        let record_key = match manager.get_database_backend() {
            DbBackend::Sqlite => "(random() & 255)",
            _ => "(floor(random() * 256)::integer)",
        };
        let incident = with_audit_columns(
            table("incident")
                .col(col("grid_id").uuid().not_null())
                .col(col("handling_grid_id").uuid().not_null())
                .col(col("category_id").uuid().not_null())
                .col(col("title").string_len(200).not_null())
                .col(col("description").text().null())
                .col(col("latitude").double().null())
                .col(col("longitude").double().null())
                .col(col("address").string_len(300).null())
                .col(col("severity").string_len(32).not_null())
                .col(col("source").string_len(32).not_null())
                .col(col("status").string_len(32).not_null())
                .col(col("reporter_person_id").uuid().null())
                .col(col("reporter_organization_id").uuid().null())
                .col(col("reporter_credential").string_len(256).not_null())
                .col(col("contact_name").string_len(100).null())
                .col(col("contact_phone").string_len(32).null())
                .col(col("assignee_person_id").uuid().null())
                .col(col("assignee_organization_id").uuid().null())
                .col(col("accepted_at").timestamp_with_time_zone().null())
                .col(col("accept_due_at").timestamp_with_time_zone().not_null())
                .col(col("due_at").timestamp_with_time_zone().not_null())
                .col(col("resolved_at").timestamp_with_time_zone().null())
                .col(col("closed_at").timestamp_with_time_zone().null())
                .col(col("satisfaction").integer().null())
                .col(col("escalations").integer().not_null().default(0))
                .col(
                    col("record_key")
                        .integer()
                        .not_null()
                        .default(Expr::cust(record_key)),
                )
                .foreign_key(&mut fk(
                    "incident",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "incident",
                    "handling_grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "incident",
                    "category_id",
                    "incident_category",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(incident).await?;

        let event = with_audit_columns(
            table("incident_event")
                .col(col("incident_id").uuid().not_null())
                .col(col("position").integer().not_null())
                .col(col("kind").string_len(32).not_null())
                .col(col("from_status").string_len(32).null())
                .col(col("to_status").string_len(32).null())
                .col(col("actor").string_len(256).not_null())
                .col(col("comment").text().null())
                .col(col("details").text().null())
                .foreign_key(&mut fk(
                    "incident_event",
                    "incident_id",
                    "incident",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(event).await?;

        let responsibility = with_audit_columns(
            table("responsibility")
                .col(col("grid_id").uuid().not_null())
                .col(col("category_id").uuid().not_null())
                .col(col("organization_id").uuid().null())
                .col(col("person_id").uuid().null())
                .col(col("note").string_len(300).null())
                .foreign_key(&mut fk(
                    "responsibility",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "responsibility",
                    "category_id",
                    "incident_category",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(responsibility).await?;

        create_indexes(
            manager,
            vec![
                index("incident_category", &["code"], true),
                index("incident_category", &["parent_id"], false),
                index("incident", &["grid_id", "created_at", "id"], false),
                index("incident", &["handling_grid_id"], false),
                index("incident", &["created_at", "id"], false),
                index("incident", &["due_at", "id"], false),
                index("incident", &["status"], false),
                index("incident", &["category_id"], false),
                index("incident", &["assignee_organization_id"], false),
                index("incident", &["assignee_person_id"], false),
                index("incident", &["reporter_person_id"], false),
                index("incident", &["reporter_organization_id"], false),
                index("incident", &["reporter_credential"], false),
                index("incident_event", &["incident_id", "position"], true),
                index("responsibility", &["grid_id", "category_id"], true),
                index("responsibility", &["category_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "responsibility",
            "incident_event",
            "incident",
            "incident_category",
        ] {
            drop_table(manager, t).await?;
        }
        Ok(())
    }
}
