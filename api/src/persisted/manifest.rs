//! Trusted-document manifests, as GraphQL clients' build tools write them.

use super::valid_id;
use crate::store::documents::{self, PushSummary, TrustedDocument};
use sea_orm::DatabaseConnection;

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "the manifest must be a JSON object of id → document text, or an Apollo persisted query manifest"
    )]
    Shape,
    #[error("unsupported Apollo manifest version {0} (only 1 is supported)")]
    Version(serde_json::Value),
    #[error("operation {index} of the manifest: {what}")]
    Operation { index: usize, what: String },
    #[error("document {id:?} does not parse: {message}")]
    Syntax { id: String, message: String },
    #[error("document id {0:?} is not 1 to 256 printable characters without spaces")]
    Id(String),
    #[error("document id {0:?} appears twice with different texts")]
    Duplicate(String),
}

/// The documents of a manifest: a flat JSON object `{id: text}` (Relay, GraphQL Code
/// Generator's client preset) or Apollo's
/// `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, name, type, body}]}`.
/// Every document must parse.
pub fn read_manifest(json: &str) -> Result<Vec<TrustedDocument>, ManifestError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let serde_json::Value::Object(object) = value else {
        return Err(ManifestError::Shape);
    };
    let mut docs = Vec::new();
    if object.get("format").and_then(serde_json::Value::as_str)
        == Some("apollo-persisted-query-manifest")
    {
        match object.get("version") {
            Some(v) if v.as_u64() == Some(1) => {}
            other => {
                return Err(ManifestError::Version(
                    other.cloned().unwrap_or(serde_json::Value::Null),
                ));
            }
        }
        let operations = object
            .get("operations")
            .and_then(serde_json::Value::as_array)
            .ok_or(ManifestError::Shape)?;
        for (index, op) in operations.iter().enumerate() {
            let field = |name: &str| op.get(name).and_then(serde_json::Value::as_str);
            let (Some(id), Some(body)) = (field("id"), field("body")) else {
                return Err(ManifestError::Operation {
                    index,
                    what: "needs a string `id` and `body`".into(),
                });
            };
            docs.push(TrustedDocument {
                id: id.to_owned(),
                body: body.to_owned(),
                name: field("name").map(str::to_owned),
            });
        }
    } else {
        for (id, body) in object {
            let serde_json::Value::String(body) = body else {
                return Err(ManifestError::Shape);
            };
            docs.push(TrustedDocument {
                id,
                body,
                name: None,
            });
        }
    }
    let mut seen = std::collections::HashMap::new();
    for doc in &docs {
        if !valid_id(&doc.id) {
            return Err(ManifestError::Id(doc.id.clone()));
        }
        if let Err(e) = async_graphql::parser::parse_query(&doc.body) {
            return Err(ManifestError::Syntax {
                id: doc.id.clone(),
                message: e.to_string(),
            });
        }
        if seen
            .insert(doc.id.as_str(), doc.body.as_str())
            .is_some_and(|b| b != doc.body)
        {
            return Err(ManifestError::Duplicate(doc.id.clone()));
        }
    }
    // The same id twice with the same text (Apollo manifests may repeat one) is one document.
    let mut unique = std::collections::HashSet::new();
    docs.retain(|d| unique.insert(d.id.clone()));
    Ok(docs)
}

/// Reads the manifest `json` and stores its documents as trusted documents, in one
/// transaction (`gridgov documents push`).
pub async fn push_manifest(db: &DatabaseConnection, json: &str) -> anyhow::Result<PushSummary> {
    let docs = read_manifest(json)?;
    Ok(documents::push(db, &docs).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_manifest_keeps_opaque_ids() {
        let docs = read_manifest(r#"{"5d41402abc4b2a76b9719d911017c592": "{ a }"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].id, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(docs[0].name, None);
    }

    #[test]
    fn an_apollo_manifest_gives_names_and_merges_repeats() {
        let json = r#"{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
            {"id": "1", "name": "A", "type": "query", "body": "query A { a }"},
            {"id": "1", "name": "A", "type": "query", "body": "query A { a }"}]}"#;
        let docs = read_manifest(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name.as_deref(), Some("A"));
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let refused = |json: &str| read_manifest(json).err().map(|e| e.to_string());
        assert!(refused("[]").is_some_and(|e| e.contains("JSON object")));
        assert!(refused(r#"{"a": 1}"#).is_some_and(|e| e.contains("JSON object")));
        assert!(refused(r#"{"a": "{ b"}"#).is_some_and(|e| e.contains("does not parse")));
        assert!(refused(r#"{"has space": "{ b }"}"#).is_some_and(|e| e.contains("document id")));
        let twice = r#"{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
            {"id": "1", "body": "{ a }"}, {"id": "1", "body": "{ b }"}]}"#;
        assert!(refused(twice).is_some_and(|e| e.contains("twice")));
    }
}
