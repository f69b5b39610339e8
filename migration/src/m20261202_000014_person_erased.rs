//! `person.erased_at`: when the person's personal data was erased (PIPL Art. 47). An erased
//! person keeps its row so that de-identified participation stays in the statistics.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("person"))
                    .add_column(
                        ColumnDef::new(Alias::new("erased_at"))
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("person"))
                    .drop_column(Alias::new("erased_at"))
                    .to_owned(),
            )
            .await
    }
}
