use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("grid_assignment")
                .col(col("grid_id").uuid().not_null())
                .col(col("person_id").uuid().not_null())
                .col(col("role").string_len(32).not_null())
                .col(col("since").date().not_null())
                .foreign_key(&mut fk(
                    "grid_assignment",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "grid_assignment",
                    "person_id",
                    "person",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("grid_assignment", &["grid_id", "person_id"], true),
                index("grid_assignment", &["person_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "grid_assignment").await
    }
}
