//! One *active* participation per service and person, instead of one participation at all.
//!
//! Until now a person whose registration had been cancelled registered again by reusing the
//! cancelled row: its history was overwritten, and when another organisation made the new
//! registration, the first organisation's idempotent replay returned a row that had become the
//! other organisation's (with its `externalRef`). Now every registration is a row of its own;
//! cancelled rows stay as they were. The unique index on `(service_id, person_id)` becomes a
//! partial one over rows that are not CANCELLED (both SQLite and PostgreSQL have partial
//! indexes), and a plain index keeps lookups by service and person fast whatever their status.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ACTIVE: &str = "ux_participation_active";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_participation_service_id_person_id")
                    .table(Alias::new("participation"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ACTIVE)
                    .table(Alias::new("participation"))
                    .col(Alias::new("service_id"))
                    .col(Alias::new("person_id"))
                    .unique()
                    .and_where(Expr::col(Alias::new("status")).ne("CANCELLED"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("participation", &["service_id", "person_id"], false))
            .await
    }

    /// Fails while a person has more than one participation in a service (a cancelled one and
    /// a later one): those rows cannot go back under the old rule without losing history.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_participation_service_id_person_id")
                    .table(Alias::new("participation"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(ACTIVE)
                    .table(Alias::new("participation"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("participation", &["service_id", "person_id"], true))
            .await
    }
}
