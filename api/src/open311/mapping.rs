//! From gridgov to GeoReport v2: categories → services, incidents → service requests, and
//! `ApiError` codes → the spec's error list.

use super::public::PublicIncident;
use crate::schema::relay::gid;
use chrono::{DateTime, SecondsFormat, Utc};
use entity::{IncidentStatus, incident, incident_category};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// A GeoReport service: one incident category.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: Option<String>,
    /// Always false: we define no attributes (`services/{code}.json` lists none).
    pub metadata: bool,
    /// `realtime`: a request is an incident as soon as it is posted.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The code, the name and the parent's name, comma-separated.
    pub keywords: String,
    /// The parent category's name (its own name for a top-level category).
    pub group: String,
}

/// The categories, with the lookups the mapping needs.
pub struct Catalogue {
    pub categories: Vec<incident_category::Model>,
    by_id: HashMap<Uuid, usize>,
}

impl Catalogue {
    pub fn new(categories: Vec<incident_category::Model>) -> Self {
        let by_id = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        Catalogue { categories, by_id }
    }

    pub fn by_id(&self, id: Uuid) -> Option<&incident_category::Model> {
        self.by_id.get(&id).map(|i| &self.categories[*i])
    }

    pub fn by_code(&self, code: &str) -> Option<&incident_category::Model> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The ids of the categories `codes` name and of their subcategories (as the GraphQL
    /// filter `category` matches them).
    pub fn expand(&self, codes: &[String]) -> Vec<Uuid> {
        let named: Vec<Uuid> = self
            .categories
            .iter()
            .filter(|c| codes.contains(&c.code))
            .map(|c| c.id)
            .collect();
        self.categories
            .iter()
            .filter(|c| named.contains(&c.id) || c.parent_id.is_some_and(|p| named.contains(&p)))
            .map(|c| c.id)
            .collect()
    }

    pub fn service(&self, c: &incident_category::Model) -> Service {
        let group = c
            .parent_id
            .and_then(|p| self.by_id(p))
            .map_or_else(|| c.name.clone(), |p| p.name.clone());
        let mut keywords = vec![c.code.clone(), c.name.clone()];
        if group != c.name {
            keywords.push(group.clone());
        }
        Service {
            service_code: c.code.clone(),
            service_name: c.name.clone(),
            description: c.description.clone(),
            metadata: false,
            kind: "realtime",
            keywords: keywords.join(","),
            group,
        }
    }
}

/// A GeoReport service request: one incident, as the caller may see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceRequest {
    pub service_request_id: String,
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: Option<String>,
    pub description: Option<String>,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    pub requested_datetime: Option<String>,
    pub updated_datetime: Option<String>,
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// The GeoReport status of an incident status: CLOSED and REJECTED are `closed`, every
/// other step of the life cycle is `open`.
pub fn open_or_closed(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Closed | IncidentStatus::Rejected => "closed",
        _ => "open",
    }
}

/// The statuses a GeoReport `status` value stands for.
pub fn statuses_of(open311: &str) -> Option<Vec<IncidentStatus>> {
    use IncidentStatus as S;
    match open311 {
        "closed" => Some(vec![S::Closed, S::Rejected]),
        "open" => Some(vec![
            S::Reported,
            S::Accepted,
            S::Dispatched,
            S::InProgress,
            S::Resolved,
            S::Verified,
            S::Reopened,
            S::Escalated,
        ]),
        _ => None,
    }
}

/// The `status_notes` of a status: where the incident stands in the life cycle.
fn note_of(status: IncidentStatus) -> &'static str {
    use IncidentStatus as S;
    match status {
        S::Reported => "Reported; waiting to be accepted by the grid office.",
        S::Accepted => "Accepted as a case; waiting to be dispatched.",
        S::Dispatched => "Dispatched to whoever is responsible.",
        S::InProgress => "Being handled.",
        S::Resolved => "Reported solved; waiting for verification.",
        S::Verified => "Verified; waiting to be closed.",
        S::Closed => "Closed.",
        S::Rejected => "Rejected: not taken as a case.",
        S::Reopened => "Reopened; being handled again.",
        S::Escalated => "Escalated to the office of the parent grid.",
    }
}

fn w3c(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A GraphQL `DateTime` value as a W3C datetime (whole seconds, `Z`).
fn w3c_of(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| w3c(t.with_timezone(&Utc)))
}

/// The fields of an incident `from_graphql` reads, as a GraphQL fragment on `Incident`.
pub const FRAGMENT: &str = "fragment Open311Request on Incident { id status description address latitude longitude reportedAt updatedAt dueAt category { code name } assigneeOrganization { name } history { kind reason } }";

/// A service request from an incident as GraphQL showed it to the caller (so with the
/// caller's own visibility and masking), `None` when the value is not one.
pub fn from_graphql(node: &Value) -> Option<ServiceRequest> {
    let id = node.get("id")?.as_str()?.to_owned();
    let status: IncidentStatus = serde_json::from_value(node.get("status")?.clone()).ok()?;
    let mut notes = note_of(status).to_owned();
    if status == IncidentStatus::Rejected {
        let reason = node
            .get("history")
            .and_then(Value::as_array)
            .and_then(|h| {
                h.iter()
                    .rev()
                    .find(|e| e.get("kind").and_then(Value::as_str) == Some("REJECTED"))
            })
            .and_then(|e| e.get("reason"))
            .and_then(Value::as_str);
        if let Some(reason) = reason {
            notes = format!("Rejected: {reason}");
        }
    }
    let text = |k: &str| node.get(k).and_then(Value::as_str).map(str::to_owned);
    let category = node.get("category");
    let of_category = |k: &str| {
        category
            .and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Some(ServiceRequest {
        service_request_id: id,
        status: open_or_closed(status),
        status_notes: Some(notes),
        service_name: of_category("name"),
        service_code: of_category("code"),
        description: text("description"),
        agency_responsible: node
            .get("assigneeOrganization")
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        service_notice: None,
        requested_datetime: node.get("reportedAt").and_then(w3c_of),
        updated_datetime: node.get("updatedAt").and_then(w3c_of),
        expected_datetime: node.get("dueAt").and_then(w3c_of),
        address: text("address"),
        address_id: None,
        zipcode: None,
        lat: node.get("latitude").and_then(Value::as_f64),
        long: node.get("longitude").and_then(Value::as_f64),
        media_url: None,
    })
}

/// A service request from the anonymous listing: only what [`super::public`] selected, and
/// none of it free text.
pub fn from_public(row: &PublicIncident, catalogue: &Catalogue) -> ServiceRequest {
    let category = catalogue.by_id(row.category_id);
    ServiceRequest {
        service_request_id: gid::<incident::Entity>(row.id).to_string(),
        status: open_or_closed(row.status),
        status_notes: Some(note_of(row.status).to_owned()),
        service_name: category.map(|c| c.name.clone()),
        service_code: category.map(|c| c.code.clone()),
        description: None,
        agency_responsible: None,
        service_notice: None,
        requested_datetime: Some(w3c(row.created_at)),
        updated_datetime: Some(w3c(row.updated_at)),
        expected_datetime: Some(w3c(row.due_at)),
        address: None,
        address_id: None,
        zipcode: None,
        lat: row.latitude,
        long: row.longitude,
        media_url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn closed_and_rejected_are_closed_everything_else_open() {
        for s in statuses_of("open").unwrap_or_default() {
            assert_eq!(open_or_closed(s), "open", "{s:?}");
        }
        for s in statuses_of("closed").unwrap_or_default() {
            assert_eq!(open_or_closed(s), "closed", "{s:?}");
        }
        assert_eq!(statuses_of("open").map(|v| v.len()), Some(8));
        assert!(statuses_of("pending").is_none());
    }

    #[test]
    fn a_rejection_reason_becomes_the_status_notes() {
        let node = json!({
            "id": "SW5jaWRlbnQ6MQ", "status": "REJECTED", "reportedAt": "2026-12-02T08:00:00.123Z",
            "history": [{ "kind": "REPORTED", "reason": null }, { "kind": "REJECTED", "reason": "重复上报" }],
        });
        let Some(r) = from_graphql(&node) else {
            panic!("a request");
        };
        assert_eq!(r.status, "closed");
        assert_eq!(r.status_notes.as_deref(), Some("Rejected: 重复上报"));
        assert_eq!(
            r.requested_datetime.as_deref(),
            Some("2026-12-02T08:00:00Z")
        );
    }
}
