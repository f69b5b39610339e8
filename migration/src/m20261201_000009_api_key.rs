use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("api_key")
                .col(col("name").string_len(200).not_null())
                .col(col("key_hash").string_len(64).not_null())
                .col(col("role").string_len(32).not_null())
                .col(col("grid_codes").text().not_null())
                .col(col("organization_id").uuid().null())
                .col(col("scopes").text().not_null())
                .col(col("expires_at").timestamp_with_time_zone().null())
                .col(col("revoked_at").timestamp_with_time_zone().null())
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(manager, vec![index("api_key", &["key_hash"], true)]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "api_key").await
    }
}
