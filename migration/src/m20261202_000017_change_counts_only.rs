//! `change_event.counts_only`: a change that only moved a count of people (a service's
//! `participantCount` after a registration or cancellation), hidden from roles that may not
//! read participations — otherwise its timing would count registrations for them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("change_event"))
                    .add_column(
                        ColumnDef::new(Alias::new("counts_only"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("change_event"))
                    .drop_column(Alias::new("counts_only"))
                    .to_owned(),
            )
            .await
    }
}
