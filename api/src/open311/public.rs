//! The anonymous listing: the one read of incidents that does not go through the GraphQL
//! policy, and therefore the narrowest one there is.
//!
//! GeoReport v2 clients (FixMyStreet, city apps, maps) read `requests.json` without a key. We
//! answer them deliberately, and only with this: incidents of categories whose
//! `publicly_listed` flag is set, not REJECTED (a report the grid office did not take as a
//! case is nobody's business but its reporter's), and only the columns below — status,
//! category, times and position. Never the title, the description or the address (free text
//! that names people and their homes), the contact, the reporter, the assignee or the handling grid. The column list is
//! the rule: a field that is not selected here cannot leak through Open311, whatever the
//! mapping does later.

use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use entity::{IncidentStatus, incident, incident_category};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

/// One incident as an anonymous caller may see it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PublicIncident {
    pub id: Uuid,
    pub category_id: Uuid,
    pub status: IncidentStatus,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the listing is narrowed to (every condition must hold).
#[derive(Debug, Default)]
pub struct PublicFilter {
    /// Only these incidents (and then nothing else is applied but the rule itself).
    pub ids: Option<Vec<Uuid>>,
    /// Only these categories (ids, with their subcategories already expanded).
    pub categories: Option<Vec<Uuid>>,
    pub statuses: Option<Vec<IncidentStatus>>,
    /// Reported at or after.
    pub from: Option<DateTime<Utc>>,
    /// Reported strictly before.
    pub until: Option<DateTime<Utc>>,
}

/// Every category, by code (a short, public list: the same as `incidentCategories`).
pub async fn categories(db: &DatabaseConnection) -> ApiResult<Vec<incident_category::Model>> {
    Ok(incident_category::Entity::find()
        .order_by_asc(incident_category::Column::Code)
        .limit(1000)
        .all(db)
        .await?)
}

/// The newest `limit` incidents an anonymous caller may list, newest first.
#[tracing::instrument(skip(db), fields(limit))]
pub async fn list(
    db: &DatabaseConnection,
    filter: &PublicFilter,
    limit: u64,
) -> ApiResult<Vec<PublicIncident>> {
    use incident::Column as C;
    let public = incident_category::Entity::find()
        .select_only()
        .column(incident_category::Column::Id)
        .filter(incident_category::Column::PubliclyListed.eq(true))
        .into_query();
    let mut cond = Condition::all()
        .add(C::CategoryId.in_subquery(public))
        .add(C::Status.ne(IncidentStatus::Rejected));
    if let Some(ids) = &filter.ids {
        cond = cond.add(C::Id.is_in(ids.iter().copied()));
    } else {
        if let Some(categories) = &filter.categories {
            cond = cond.add(C::CategoryId.is_in(categories.iter().copied()));
        }
        if let Some(statuses) = &filter.statuses {
            cond = cond.add(C::Status.is_in(statuses.iter().copied()));
        }
        if let Some(from) = filter.from {
            cond = cond.add(C::CreatedAt.gte(from));
        }
        if let Some(until) = filter.until {
            cond = cond.add(C::CreatedAt.lt(until));
        }
    }
    Ok(incident::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::CategoryId,
            C::Status,
            C::Latitude,
            C::Longitude,
            C::DueAt,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .filter(cond)
        .order_by_desc(C::CreatedAt)
        .order_by_desc(C::Id)
        .limit(limit)
        .into_model::<PublicIncident>()
        .all(db)
        .await?)
}

/// The id of the grid with administrative code `code`, if there is one (grid codes are not
/// personal data; every caller may read grids).
pub async fn grid_by_code(db: &DatabaseConnection, code: &str) -> ApiResult<Option<Uuid>> {
    use entity::grid;
    Ok(grid::Entity::find()
        .select_only()
        .column(grid::Column::Id)
        .filter(grid::Column::Code.eq(code))
        .into_tuple::<Uuid>()
        .one(db)
        .await?)
}
