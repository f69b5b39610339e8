//! Database functions, one module per domain, and the shared mechanisms they use
//! (keyset pagination, subtree filters).

pub mod changes;
pub mod documents;
pub mod filters;
pub mod grid;
pub mod incident;
pub mod organization;
pub mod page;
pub mod participation;
pub mod person;
pub mod pii;
pub mod seal;
pub mod service;
pub mod stats;
pub mod write;

use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

/// A table with a UUID primary key column named `id`.
pub trait Table:
    EntityTrait<Model: Clone + Send + Sync + 'static> + Default + Send + Sync + 'static
{
    /// Name used in global ids, cursors and error messages.
    const NAME: &'static str;
    fn id_col() -> Self::Column;
    fn model_id(m: &Self::Model) -> Uuid;
    /// The row's optimistic version (`expectedVersion`).
    fn model_version(m: &Self::Model) -> i32;
}

macro_rules! table {
    ($($module:ident => $name:literal),+ $(,)?) => {$(
        impl Table for entity::$module::Entity {
            const NAME: &'static str = $name;
            fn id_col() -> Self::Column {
                entity::$module::Column::Id
            }
            fn model_id(m: &Self::Model) -> Uuid {
                m.id
            }
            fn model_version(m: &Self::Model) -> i32 {
                m.version
            }
        }
    )+};
}

table!(
    grid => "Grid",
    person => "Person",
    person_tag => "PersonTag",
    organization => "Organization",
    membership => "Membership",
    grid_assignment => "GridAssignment",
    service => "Service",
    participation => "Participation",
    audit_log => "AuditEntry",
    change_event => "Change",
    pii_access_log => "PiiAccess",
    incident => "Incident",
    incident_category => "IncidentCategory",
    incident_event => "IncidentEvent",
    responsibility => "Responsibility",
);

/// The database handle shared by the request handlers.
#[derive(Clone)]
pub struct Store {
    pub db: DatabaseConnection,
}
