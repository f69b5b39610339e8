//! `api_key.replaced_by` and `api_key.grace_until`: `gridgov apikey rotate` issues a replacement
//! key and keeps the old one valid until `grace_until`, so that a partner can deploy the new key
//! without an outage.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// One column per statement: SQLite takes a single alteration per ALTER TABLE.
fn columns() -> [ColumnDef; 2] {
    [
        ColumnDef::new(Alias::new("replaced_by"))
            .uuid()
            .null()
            .to_owned(),
        ColumnDef::new(Alias::new("grace_until"))
            .timestamp_with_time_zone()
            .null()
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("api_key"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["grace_until", "replaced_by"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("api_key"))
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
