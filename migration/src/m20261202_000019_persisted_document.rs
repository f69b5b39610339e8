//! `persisted_document`: GraphQL documents named by an id instead of sent as text — automatic
//! persisted queries registered by clients (`trusted = false`, id = SHA-256 hex of the body,
//! evicted least recently used first) and trusted documents pushed from a build's manifest by
//! `gridgov documents push` (`trusted = true`, id as the manifest gives it, never evicted).

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
                    .table(Alias::new("persisted_document"))
                    .col(col("id").string_len(256).not_null().primary_key())
                    .col(col("body").text().not_null())
                    .col(col("operation_name").string_len(256).null())
                    .col(col("trusted").boolean().not_null())
                    .col(col("created_at").timestamp_with_time_zone().not_null())
                    .col(col("last_used_at").timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // Eviction counts and deletes the registered (untrusted) documents by last use.
        create_indexes(
            manager,
            vec![index(
                "persisted_document",
                &["trusted", "last_used_at"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "persisted_document").await
    }
}
