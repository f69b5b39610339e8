//! Abuse resistance: server-chosen request ids.

use crate::db_test;
use crate::fixture;
use serde_json::{Value, json};

db_test!(
    the_server_chooses_the_request_id_and_keeps_the_clients_beside_it,
    |app| async move {
        let f = fixture::load(&app.db).await;
        // A mutation sent with a request id of the client's choosing.
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .header("x-request-id", "attacker-chosen")
            .json(&json!({ "query": "mutation { createOrganization(input: { name: \"新组织\", kind: GOVERNMENT }) { organization { id } } }" }))
            .send()
            .await
            .unwrap();
        let server_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        let org = body["data"]["createOrganization"]["organization"]["id"].clone();
        assert_ne!(server_id, "attacker-chosen");
        assert!(uuid::Uuid::parse_str(&server_id).is_ok(), "{server_id}");

        let data = app
            .data(
                "query($e: ID!) { auditLog(filter: { entityId: $e }) { nodes { requestId clientRequestId } } }",
                json!({ "e": org }),
            )
            .await;
        assert_eq!(
            data["auditLog"]["nodes"],
            json!([{ "requestId": server_id, "clientRequestId": "attacker-chosen" }])
        );

        // An unmasked read: the access log records both ids too.
        let r = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin_key)
            .header("x-request-id", "portal-read-1")
            .json(&json!({
                "query": "query($id: ID!) { node(id: $id) { ... on Person { phone } } }",
                "variables": { "id": f.person("sun_li") },
            }))
            .send()
            .await
            .unwrap();
        let read_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["data"]["node"]["phone"], "13810000011", "{body}");
        let data = app
            .data(
                "query($p: ID!) { piiAccessLog(filter: { personId: $p }) { nodes { requestId clientRequestId } } }",
                json!({ "p": f.person("sun_li") }),
            )
            .await;
        assert_eq!(
            data["piiAccessLog"]["nodes"],
            json!([{ "requestId": read_id, "clientRequestId": "portal-read-1" }])
        );

        // A client id that is not a sane token is not kept.
        for bad in ["x".repeat(129), "has space".to_owned()] {
            let r = app
                .http
                .post(app.url("/graphql"))
                .bearer_auth(&app.admin_key)
                .header("x-request-id", &bad)
                .json(&json!({ "query": "mutation { createOrganization(input: { name: \"另一个\", kind: GOVERNMENT }) { organization { id } } }" }))
                .send()
                .await
                .unwrap();
            let body: Value = r.json().await.unwrap();
            let org = body["data"]["createOrganization"]["organization"]["id"].clone();
            let data = app
                .data(
                    "query($e: ID!) { auditLog(filter: { entityId: $e }) { nodes { clientRequestId } } }",
                    json!({ "e": org }),
                )
                .await;
            assert_eq!(
                data["auditLog"]["nodes"],
                json!([{ "clientRequestId": null }]),
                "{bad}"
            );
        }
    }
);
