use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let person = with_audit_columns(
            table("person")
                .col(col("name").string_len(100).not_null())
                .col(col("gender").string_len(32).null())
                .col(col("birth_date").date().null())
                .col(col("phone").string_len(20).null())
                .col(col("id_number").string_len(18).null())
                .col(col("grid_id").uuid().not_null())
                .col(col("address").string_len(300).null())
                .foreign_key(&mut fk(
                    "person",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(person).await?;
        let tag = with_audit_columns(
            table("person_tag")
                .col(col("person_id").uuid().not_null())
                .col(col("tag").string_len(32).not_null())
                .foreign_key(&mut fk(
                    "person_tag",
                    "person_id",
                    "person",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        );
        manager.create_table(tag).await?;
        create_indexes(
            manager,
            vec![
                index("person", &["id_number"], true),
                index("person", &["grid_id", "id"], false),
                index("person", &["name", "id"], false),
                index("person", &["created_at", "id"], false),
                index("person_tag", &["person_id", "tag"], true),
                index("person_tag", &["tag", "person_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "person_tag").await?;
        drop_table(manager, "person").await
    }
}
