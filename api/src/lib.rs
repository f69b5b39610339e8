//! gridgov: a GraphQL API for community grid governance.

pub mod auth;
pub mod caps;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod loaders;
pub mod metrics;
pub mod open311;
pub mod persisted;
pub mod policy;
pub mod ratelimit;
pub mod schema;
pub mod seed;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod validate;
