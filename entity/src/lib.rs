//! sea-orm entities of gridgov, one module per table.
//!
//! Every table has a UUID v7 primary key, `created_at`/`updated_at` in UTC and an integer
//! `version` bumped on every write (optimistic concurrency), except `persisted_document`, which is
//! keyed by the id clients send and never edited in place by the API.

pub mod api_key;
pub mod audit_log;
pub mod change_event;
pub mod change_pending;
pub mod enums;
pub mod grid;
pub mod grid_assignment;
pub mod idempotency_key;
pub mod incident;
pub mod incident_category;
pub mod incident_event;
pub mod membership;
pub mod organization;
pub mod participation;
pub mod persisted_document;
pub mod person;
pub mod person_tag;
pub mod pii_access_log;
pub mod responsibility;
pub mod service;

pub use enums::*;
