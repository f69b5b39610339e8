use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let org = with_audit_columns(
            table("organization")
                .col(col("name").string_len(200).not_null())
                .col(col("kind").string_len(32).not_null())
                .col(col("contact_name").string_len(100).null())
                .col(col("contact_phone").string_len(20).null())
                .col(col("contact_email").string_len(200).null())
                .to_owned(),
        );
        manager.create_table(org).await?;
        let membership = with_audit_columns(
            table("membership")
                .col(col("person_id").uuid().not_null())
                .col(col("organization_id").uuid().not_null())
                .col(col("role").string_len(32).not_null())
                .col(col("joined_on").date().not_null())
                .foreign_key(&mut fk(
                    "membership",
                    "person_id",
                    "person",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "membership",
                    "organization_id",
                    "organization",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        );
        manager.create_table(membership).await?;
        create_indexes(
            manager,
            vec![
                index("organization", &["name", "id"], false),
                index("organization", &["kind", "id"], false),
                index("organization", &["created_at", "id"], false),
                index("membership", &["organization_id", "person_id"], true),
                index("membership", &["person_id"], false),
                index(
                    "membership",
                    &["organization_id", "created_at", "id"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "membership").await?;
        drop_table(manager, "organization").await
    }
}
