//! Schema migrations, one per step, each with a working `down`.

pub use sea_orm_migration::prelude::*;

mod common;
mod m20261201_000001_grid;
mod m20261201_000002_person;
mod m20261201_000003_organization;
mod m20261201_000004_grid_assignment;
mod m20261201_000005_service;
mod m20261201_000006_participation;
mod m20261201_000007_audit_log;
mod m20261201_000008_idempotency_key;
mod m20261201_000009_api_key;
mod m20261201_000010_pii_access_log;
mod m20261201_000011_change_event;
// Public for `RECORD_KEY_RANGE`, which the statistics share.
pub mod m20261202_000012_record_key;
mod m20261202_000013_client_request_id;
mod m20261202_000014_person_erased;
mod m20261202_000015_participation_active;
mod m20261202_000016_server_key;
mod m20261202_000017_change_counts_only;
mod m20261202_000018_api_key_rotation;
mod m20261202_000019_persisted_document;
mod m20261202_000020_incident;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261201_000001_grid::Migration),
            Box::new(m20261201_000002_person::Migration),
            Box::new(m20261201_000003_organization::Migration),
            Box::new(m20261201_000004_grid_assignment::Migration),
            Box::new(m20261201_000005_service::Migration),
            Box::new(m20261201_000006_participation::Migration),
            Box::new(m20261201_000007_audit_log::Migration),
            Box::new(m20261201_000008_idempotency_key::Migration),
            Box::new(m20261201_000009_api_key::Migration),
            Box::new(m20261201_000010_pii_access_log::Migration),
            Box::new(m20261201_000011_change_event::Migration),
            Box::new(m20261202_000012_record_key::Migration),
            Box::new(m20261202_000013_client_request_id::Migration),
            Box::new(m20261202_000014_person_erased::Migration),
            Box::new(m20261202_000015_participation_active::Migration),
            Box::new(m20261202_000016_server_key::Migration),
            Box::new(m20261202_000017_change_counts_only::Migration),
            Box::new(m20261202_000018_api_key_rotation::Migration),
            Box::new(m20261202_000019_persisted_document::Migration),
            Box::new(m20261202_000020_incident::Migration),
        ]
    }
}
