//! `server_key`: secrets generated once and shared by every replica (the cursor-sealing key
//! when `GRIDGOV_CURSOR_KEY` is not set).

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("server_key"))
                    .col(col("name").string_len(64).not_null().primary_key())
                    .col(col("secret").string_len(200).not_null())
                    .col(col("created_at").timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "server_key").await
    }
}
