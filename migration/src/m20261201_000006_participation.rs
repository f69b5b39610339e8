use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("participation")
                .col(col("service_id").uuid().not_null())
                .col(col("person_id").uuid().not_null())
                .col(col("organization_id").uuid().null())
                .col(col("role").string_len(32).not_null())
                .col(col("status").string_len(32).not_null())
                .col(col("registered_at").timestamp_with_time_zone().not_null())
                .col(col("checked_in_at").timestamp_with_time_zone().null())
                .col(col("checked_out_at").timestamp_with_time_zone().null())
                .col(col("minutes").integer().null())
                .col(col("external_ref").string_len(200).null())
                .foreign_key(&mut fk(
                    "participation",
                    "service_id",
                    "service",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "participation",
                    "person_id",
                    "person",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "participation",
                    "organization_id",
                    "organization",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("participation", &["service_id", "person_id"], true),
                index(
                    "participation",
                    &["service_id", "registered_at", "id"],
                    false,
                ),
                index(
                    "participation",
                    &["person_id", "registered_at", "id"],
                    false,
                ),
                index(
                    "participation",
                    &["organization_id", "registered_at", "id"],
                    false,
                ),
                index("participation", &["registered_at", "id"], false),
                index("participation", &["created_at", "id"], false),
                index("participation", &["status"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "participation").await
    }
}
