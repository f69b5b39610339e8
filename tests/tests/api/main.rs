//! Black-box tests: each starts the real gridgov server on a free port over its own fresh
//! database and speaks HTTP to it. Every data test runs on SQLite and, when
//! `TEST_DATABASE_URL` is set, on PostgreSQL too (see [`db_test!`]).

mod harness;

mod abuse;
mod access;
mod changes;
mod conventions;
mod disclosure;
mod errors;
mod fixture;
mod hardening;
mod incident_stats;
mod incidents;
mod jwks;
mod migrations;
mod mutations;
mod nested;
mod node;
mod open311;
mod operations;
mod pagination;
mod participation_writes;
mod persisted;
mod policy;
mod read_api;
mod schema_drift;
mod stats;
mod subscriptions;
mod telemetry;
mod write_rules;
