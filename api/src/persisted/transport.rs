//! What the transports take from a request beside async-graphql's fields: the
//! GraphQL-over-HTTP `documentId` and Relay's `doc_id`.

use async_graphql::Request;
use std::any::TypeId;

/// The GraphQL-over-HTTP `documentId` or Relay `doc_id` of a request, put into its data by
/// the transport ([`request_with_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentId(pub String);

/// The `documentId`/`doc_id` a transport stored in `request`'s data.
pub fn document_id(request: &Request) -> Option<String> {
    request
        .data
        .get(&TypeId::of::<DocumentId>())
        .and_then(|d| d.downcast_ref::<DocumentId>())
        .map(|d| d.0.clone())
}

/// The `documentId` (GraphQL over HTTP) or `doc_id` (Relay) of a GET query string.
pub fn query_string_document_id(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(rename = "documentId")]
        document_id: Option<String>,
        doc_id: Option<String>,
    }
    let uri: axum::http::Uri = format!("/?{raw}").parse().ok()?;
    let ids = axum::extract::Query::<Ids>::try_from_uri(&uri).ok()?.0;
    ids.document_id.or(ids.doc_id).filter(|id| !id.is_empty())
}

/// One operation of a JSON body as a request: its `documentId`/`doc_id` taken into its data
/// as a [`DocumentId`], and a `query` of `null` counted as none.
pub fn request_with_id(mut value: serde_json::Value) -> Result<Request, serde_json::Error> {
    use serde::de::Error as _;
    let mut id = None;
    if let Some(object) = value.as_object_mut() {
        for key in ["documentId", "doc_id"] {
            match object.remove(key) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::String(s)) => id = id.or(Some(s)),
                Some(_) => {
                    return Err(serde_json::Error::custom(format!(
                        "`{key}` must be a string"
                    )));
                }
            }
        }
        if object.get("query").is_some_and(serde_json::Value::is_null) {
            object.remove("query");
        }
    }
    let mut request: Request = serde_json::from_value(value)?;
    if let Some(id) = id {
        request.data.insert(DocumentId(id));
    }
    Ok(request)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Request, serde_json::Error> {
        request_with_id(serde_json::from_str(body)?)
    }

    fn single(body: &str) -> Request {
        parse(body).expect("one request")
    }

    #[test]
    fn relay_doc_id_and_a_null_query_are_read() {
        let r = single(r#"{"doc_id": "abc", "query": null, "variables": {"a": 1}}"#);
        assert_eq!(document_id(&r).as_deref(), Some("abc"));
        assert_eq!(r.query, "");
        assert_eq!(r.variables.len(), 1);
    }

    #[test]
    fn each_request_of_a_batch_keeps_its_own_document_id() {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(r#"[{"documentId": "sha256:00"}, {"query": "{ a }"}]"#)
                .expect("JSON");
        let rs: Vec<Request> = items
            .into_iter()
            .map(request_with_id)
            .collect::<Result<_, _>>()
            .expect("requests");
        assert_eq!(document_id(&rs[0]).as_deref(), Some("sha256:00"));
        assert_eq!(document_id(&rs[1]), None);
        assert_eq!(rs[1].query, "{ a }");
    }

    #[test]
    fn bodies_without_ids_parse_as_before() {
        assert_eq!(single(r#"{"query": "{ a }"}"#).query, "{ a }");
        assert!(parse(r#"{"documentId": 7}"#).is_err());
    }

    #[test]
    fn a_get_query_string_names_a_document_by_either_key() {
        assert_eq!(
            query_string_document_id("documentId=sha256%3Aab&variables=%7B%7D").as_deref(),
            Some("sha256:ab")
        );
        assert_eq!(query_string_document_id("doc_id=x1").as_deref(), Some("x1"));
        assert_eq!(query_string_document_id("query=%7Ba%7D"), None);
    }
}
