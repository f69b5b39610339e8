//! Open311 GeoReport v2 at `/open311/v2/`: discovery, services, posting and reading service
//! requests, the status mapping, errors in the spec's shape, and the privacy rule (anonymous
//! callers list only publicly listed categories, without personal data; a PUBLIC key sees
//! its own reports in full).

use crate::db_test;
use crate::fixture;
use crate::harness::TestApp;
use gridgov::auth::Role;
use serde_json::{Value, json};

const G11: &str = "370685001001-01";
const REPORT: &str =
    "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id } } }";
const REJECT: &str = "mutation($id: ID!, $reason: String!) { rejectIncident(id: $id, reason: $reason) { incident { status } } }";
const SECRET: &str = "王先生说隔壁的李大爷每晚吵闹";
const PHONE: &str = "13812345678";

/// GETs `path` (with `api_key` when given); returns status and body text.
async fn get(app: &TestApp, path: &str, key: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(app.url(path));
    if let Some(k) = key {
        req = req.query(&[("api_key", k)]);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

async fn get_json(app: &TestApp, path: &str, key: Option<&str>) -> (u16, Value) {
    let (status, text) = get(app, path, key).await;
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, body)
}

/// POSTs a form to `requests.json`.
async fn post_form(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/open311/v2/requests.json"))
        .form(form)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

/// Asserts that `body` is a GeoReport error list whose one error has `code`.
fn assert_error(status: u16, body: &Value, code: u16, what: &str) {
    assert_eq!(status, code, "{what}: {body}");
    let errors = body.as_array().unwrap_or_else(|| panic!("{what}: {body}"));
    assert_eq!(errors.len(), 1, "{what}: {body}");
    assert_eq!(errors[0]["code"], code, "{what}: {body}");
    let d = errors[0]["description"].as_str().unwrap_or("");
    assert!(!d.is_empty(), "{what}: a description");
    assert!(
        !d.to_lowercase().contains("sql") && !d.contains("SELECT"),
        "{what}: no database text: {d}"
    );
}

/// Reports an incident as ADMIN through GraphQL; returns its id.
async fn report(app: &TestApp, grid: &str, code: &str) -> String {
    let data = app
        .data(
            REPORT,
            json!({ "i": {
                "gridId": grid, "categoryCode": code, "title": "问题", "description": SECRET,
                "latitude": 37.36, "longitude": 120.41, "address": "金晖路12号",
                "contactName": "王先生", "contactPhone": PHONE,
            } }),
        )
        .await;
    data["reportIncident"]["incident"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The source column of an incident, read from the database.
async fn stored_source(app: &TestApp, id: &str) -> entity::IncidentSource {
    use sea_orm::EntityTrait;
    let (_, key) = gridgov::schema::relay::decode_global_id(id, "id").expect("a global id");
    entity::incident::Entity::find_by_id(key)
        .one(&app.db)
        .await
        .expect("read")
        .expect("the incident")
        .source
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|r| r["service_request_id"].as_str().expect("id").to_owned())
        .collect()
}

/// `requests.json?{q}` as `key`; must succeed.
async fn list(app: &TestApp, key: &str, q: &str) -> Value {
    let (s, b) = get_json(app, &format!("/open311/v2/requests.json?{q}"), Some(key)).await;
    assert_eq!(s, 200, "{q}: {b}");
    b
}

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|r| r["service_request_id"] == id)
}

db_test!(
    discovery_and_services_describe_the_categories,
    |app| async move {
        let (status, d) = get_json(&app, "/open311/v2/discovery.json", None).await;
        assert_eq!(status, 200);
        assert_eq!(
            d["endpoints"][0]["specification"],
            "http://wiki.open311.org/GeoReport_v2"
        );

        let (status, services) = get_json(&app, "/open311/v2/services.json", None).await;
        assert_eq!(status, 200);
        let list = services.as_array().expect("a list");
        assert_eq!(list.len(), 22, "one service per standard category");
        let light = list
            .iter()
            .find(|s| s["service_code"] == "CITY_STREETLIGHT")
            .expect("CITY_STREETLIGHT");
        assert_eq!(light["service_name"], "路灯损坏");
        assert_eq!(light["group"], "城市管理", "the parent category's name");
        assert_eq!(light["metadata"], false);
        assert_eq!(light["type"], "realtime");
        assert!(
            light["keywords"]
                .as_str()
                .is_some_and(|k| k.contains("CITY_STREETLIGHT") && k.contains("城市管理"))
        );

        let (status, def) = get_json(&app, "/open311/v2/services/CITY_ROAD.json", None).await;
        assert_eq!(status, 200);
        assert_eq!(
            def,
            json!({ "service_code": "CITY_ROAD", "attributes": [] })
        );

        let (status, body) = get_json(&app, "/open311/v2/services/NO_SUCH.json", None).await;
        assert_error(status, &body, 404, "unknown service definition");

        let (status, xml) = get(&app, "/open311/v2/services.xml", None).await;
        assert_eq!(status, 200);
        assert!(
            xml.contains("<services><service>")
                && xml.contains("<service_code>CITY_STREETLIGHT</service_code>"),
            "{xml}"
        );
        let (status, body) = get_json(&app, "/open311/v2/nothing.json", None).await;
        assert_error(status, &body, 404, "unknown resource");
    }
);

db_test!(posted_requests_are_open311_incidents, |app| async move {
    let f = fixture::load(&app.db).await;
    let key = app.key(Role::Public, &[G11], None, &[]).await;

    let (status, body) = post_form(
        &app,
        &[
            ("api_key", &key),
            ("service_code", "CITY_STREETLIGHT"),
            ("lat", "37.361"),
            ("long", "120.402"),
            ("address_string", "金晖路8号"),
            ("description", "路灯不亮\n已经三天了"),
            ("first_name", "小"),
            ("last_name", "王"),
            ("phone", PHONE),
            ("email", "ignored@example.org"),
            ("media_url", "https://example.org/p.jpg"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body[0]["service_request_id"]
        .as_str()
        .expect("service_request_id")
        .to_owned();
    assert!(
        body[0]["service_notice"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );

    // The same incident through GraphQL: source OPEN311, in the key's grid, with every field.
    let data = app
        .data(
            "query($id: ID!) { incident(id: $id) { source status title description address latitude grid { id } category { code } contactName contactPhone reportedByViewer } }",
            json!({ "id": id }),
        )
        .await;
    let inc = &data["incident"];
    // The GraphQL enum value of `IncidentSource::Open311` as the schema names it today.
    assert_eq!(inc["source"], "OPEN311");
    assert_eq!(
        stored_source(&app, &id).await,
        entity::IncidentSource::Open311
    );
    assert_eq!(inc["status"], "REPORTED");
    assert_eq!(inc["grid"]["id"], f.grid("G11"), "the key's only grid");
    assert_eq!(inc["category"]["code"], "CITY_STREETLIGHT");
    assert_eq!(inc["title"], "路灯不亮", "the description's first line");
    assert_eq!(inc["description"], "路灯不亮\n已经三天了");
    assert_eq!(inc["address"], "金晖路8号");
    assert_eq!(inc["latitude"], 37.361);
    assert_eq!(inc["contactName"], "小 王");
    assert_eq!(inc["contactPhone"], PHONE, "the admin key has pii:read");

    // The reporter reads it back in full.
    let path = format!("/open311/v2/requests/{id}.json");
    let (status, one) = get_json(&app, &path, Some(&key)).await;
    assert_eq!(status, 200, "{one}");
    let r = &one[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "CITY_STREETLIGHT");
    assert_eq!(r["service_name"], "路灯损坏");
    assert_eq!(r["description"], "路灯不亮\n已经三天了");
    assert_eq!(r["lat"], 37.361);
    assert_eq!(r["long"], 120.402);
    assert!(
        r["requested_datetime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "a W3C datetime: {r}"
    );
    assert!(r["expected_datetime"].as_str().is_some(), "dueAt");

    // A JSON body and a grid named by code work too; the Authorization header replaces api_key.
    let resp = app
        .http
        .post(app.url("/open311/v2/requests.json"))
        .bearer_auth(&app.admin_key)
        .json(&json!({ "service_code": "SANITATION_WASTE", "address_string": "文化路1号", "grid_code": "370685001002-01" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    let second = body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let data = app
        .data(
            "query($id: ID!) { incident(id: $id) { source title grid { id } } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(data["incident"]["source"], "OPEN311");
    assert_eq!(data["incident"]["grid"]["id"], f.grid("G21"));
    assert_eq!(data["incident"]["title"], "垃圾堆放", "the service's name");

    // XML variants.
    let (status, xml) = get(&app, &format!("/open311/v2/requests/{id}.xml"), Some(&key)).await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<service_requests><request>") && xml.contains("<status>open</status>"),
        "{xml}"
    );
});

db_test!(errors_have_the_spec_shape, |app| async move {
    fixture::load(&app.db).await;
    let key = app.key(Role::Public, &[G11], None, &[]).await;
    let (s, b) = post_form(
        &app,
        &[("service_code", "CITY_ROAD"), ("lat", "1"), ("long", "2")],
    )
    .await;
    assert_error(s, &b, 401, "no api_key");
    let (s, b) = post_form(
        &app,
        &[
            ("api_key", "gg_not_a_key"),
            ("service_code", "CITY_ROAD"),
            ("lat", "1"),
            ("long", "2"),
        ],
    )
    .await;
    assert_error(s, &b, 403, "a bad api_key");
    let (s, b) = post_form(
        &app,
        &[
            ("api_key", &key),
            ("service_code", "NO_SUCH"),
            ("lat", "1"),
            ("long", "2"),
        ],
    )
    .await;
    assert_error(s, &b, 404, "an unknown service_code");
    let (s, b) = post_form(&app, &[("api_key", &key), ("service_code", "CITY_ROAD")]).await;
    assert_error(s, &b, 400, "no location");
    let (s, b) = post_form(
        &app,
        &[
            ("api_key", &key),
            ("service_code", "CITY_ROAD"),
            ("lat", "91"),
            ("long", "2"),
        ],
    )
    .await;
    assert_error(s, &b, 400, "latitude out of range");
    assert!(
        b[0]["description"].as_str().unwrap_or("").contains("`lat`"),
        "{b}"
    );
    let (s, b) = post_form(
        &app,
        &[
            ("api_key", &key),
            ("service_code", "CITY_ROAD"),
            ("address_string", "x"),
            ("grid_code", "nope"),
        ],
    )
    .await;
    assert_error(s, &b, 400, "an unknown grid_code");

    for (query, what) in [
        ("start_date=yesterday", "a bad start_date"),
        (
            "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            "a range over 90 days",
        ),
        (
            "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
            "an end before the start",
        ),
        ("status=pending", "an unknown status"),
        ("service_request_id=not-an-id", "a foreign id"),
    ] {
        let (s, b) = get_json(&app, &format!("/open311/v2/requests.json?{query}"), None).await;
        assert_error(s, &b, 400, what);
    }
    let (s, b) = get_json(&app, "/open311/v2/requests.json?service_code=NO_SUCH", None).await;
    assert_error(s, &b, 404, "an unknown service_code in a list");
    let missing = gridgov::schema::relay::global_id("Incident", uuid::Uuid::now_v7()).0;
    let (s, b) = get_json(
        &app,
        &format!("/open311/v2/requests/{missing}.json"),
        Some(&key),
    )
    .await;
    assert_error(s, &b, 404, "an unknown request");
    let (s, b) = get_json(&app, "/open311/v2/requests.json?api_key=gg_wrong", None).await;
    assert_error(s, &b, 403, "a bad api_key on GET");
    let resp = app
        .http
        .delete(app.url("/open311/v2/requests.json"))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("a JSON error");
    assert_error(status, &body, 405, "a method the route does not take");
});

db_test!(statuses_map_and_every_parameter_filters, |app| async move {
    let f = fixture::load(&app.db).await;
    let road = report(&app, &f.grid("G11"), "CITY_ROAD").await;
    let fire = report(&app, &f.grid("G12"), "SAFETY_FIRE").await;
    let parking = report(&app, &f.grid("G11"), "CITY_PARKING").await;
    let body = app
        .gql(REJECT, json!({ "id": parking, "reason": "重复上报" }))
        .await;
    assert_eq!(
        body["data"]["rejectIncident"]["incident"]["status"], "REJECTED",
        "{body}"
    );
    let accepted = app
        .gql(
            "mutation($id: ID!) { acceptIncident(id: $id) { incident { status } } }",
            json!({ "id": fire }),
        )
        .await;
    assert_eq!(
        accepted["data"]["acceptIncident"]["incident"]["status"],
        "ACCEPTED"
    );
    let admin = app.admin_key.clone();
    let all = list(&app, &admin, "").await;
    assert_eq!(
        ids_of(&all),
        vec![parking.clone(), fire.clone(), road.clone()],
        "newest first"
    );
    let rejected = find(&all, &parking).expect("rejected");
    assert_eq!(rejected["status"], "closed", "REJECTED is closed");
    assert_eq!(rejected["status_notes"], "Rejected: 重复上报");
    assert_eq!(
        find(&all, &fire).expect("fire")["status"],
        "open",
        "ACCEPTED is open"
    );
    assert_eq!(
        find(&all, &road).expect("road")["description"],
        SECRET,
        "ADMIN sees all"
    );

    assert_eq!(
        ids_of(&list(&app, &admin, "status=closed").await),
        vec![parking.clone()]
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "status=open").await),
        vec![fire.clone(), road.clone()]
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "status=open,closed").await).len(),
        3
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "service_code=CITY_ROAD,SAFETY_FIRE").await),
        vec![fire.clone(), road.clone()]
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "service_code=CITY").await),
        vec![parking.clone(), road.clone()],
        "a parent code takes its subcategories"
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "start_date=2099-01-01T00:00:00Z").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "end_date=2026-01-01T00:00:00%2B08:00").await),
        Vec::<String>::new(),
        "before any report"
    );
    assert_eq!(
        ids_of(&list(&app, &admin, "jurisdiction_id=anything").await).len(),
        3,
        "jurisdiction_id is ignored"
    );
    let by_id = format!("/open311/v2/requests.json?service_request_id={road},{fire}&status=closed");
    let (s, b) = get_json(&app, &by_id, Some(&admin)).await;
    assert_eq!(s, 200);
    assert_eq!(
        ids_of(&b),
        vec![road.clone(), fire.clone()],
        "in the order given; other parameters ignored"
    );
});

db_test!(
    anonymous_callers_list_public_categories_without_personal_data,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let road = report(&app, &f.grid("G11"), "CITY_ROAD").await;
        let dispute = report(&app, &f.grid("G11"), "DISPUTE_NEIGHBOUR").await;
        let parking = report(&app, &f.grid("G11"), "CITY_PARKING").await;
        let body = app
            .gql(REJECT, json!({ "id": parking, "reason": "王先生重复上报" }))
            .await;
        assert!(body.get("errors").is_none(), "{body}");

        let (status, text) = get(&app, "/open311/v2/requests.json", None).await;
        assert_eq!(status, 200, "{text}");
        assert!(
            !text.contains(SECRET)
                && !text.contains(PHONE)
                && !text.contains("王先生")
                && !text.contains("问题")
                && !text.contains("金晖路"),
            "no free text: {text}"
        );
        let list: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            ids_of(&list),
            vec![road.clone()],
            "only publicly listed, never rejected"
        );
        let r = &list[0];
        assert_eq!(r["description"], Value::Null);
        assert_eq!(r["agency_responsible"], Value::Null);
        assert_eq!(r["status"], "open");
        assert_eq!(r["service_code"], "CITY_ROAD");
        assert_eq!(r["address"], Value::Null, "an address can name a home");
        assert_eq!(r["lat"], 37.36);

        let (s, b) = get_json(&app, &format!("/open311/v2/requests/{dispute}.json"), None).await;
        assert_error(s, &b, 404, "a non-public category, by id");
        let (s, b) = get_json(&app, &format!("/open311/v2/requests/{parking}.json"), None).await;
        assert_error(s, &b, 404, "a rejected report, by id");
        let (s, b) = get_json(
            &app,
            &format!("/open311/v2/requests.json?service_request_id={dispute},{road}"),
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(ids_of(&b), vec![road.clone()]);
        let (_, b) = get_json(&app, "/open311/v2/requests.json?service_code=DISPUTE", None).await;
        assert_eq!(ids_of(&b), Vec::<String>::new());

        // GraphQL shows an anonymous caller no incident at all: the listing is its own rule.
        let body = app
            .gql_as(None, "{ incidents { nodes { id } } }", json!({}))
            .await;
        assert_eq!(body["data"]["incidents"]["nodes"], json!([]), "{body}");
    }
);

db_test!(
    a_public_key_sees_its_own_reports_in_full,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let mine = app.key(Role::Public, &[G11], None, &[]).await;
        let theirs = app.key(Role::Public, &[G11], None, &[]).await;
        let road = report(&app, &f.grid("G11"), "CITY_ROAD").await;
        let (s, b) = post_form(
            &app,
            &[
                ("api_key", &mine),
                ("service_code", "DISPUTE_NEIGHBOUR"),
                ("address_string", "金晖路3号"),
                ("description", SECRET),
            ],
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let own = b[0]["service_request_id"].as_str().expect("id").to_owned();

        let (_, list) = get_json(&app, "/open311/v2/requests.json", Some(&mine)).await;
        assert_eq!(ids_of(&list), vec![own.clone(), road.clone()]);
        assert_eq!(
            find(&list, &own).expect("own")["description"],
            SECRET,
            "its own in full"
        );
        assert_eq!(
            find(&list, &road).expect("road")["description"],
            Value::Null,
            "others' as anonymous"
        );

        let (_, list) = get_json(&app, "/open311/v2/requests.json", Some(&theirs)).await;
        assert_eq!(
            ids_of(&list),
            vec![road.clone()],
            "not another key's non-public report"
        );
        let (s, b) = get_json(
            &app,
            &format!("/open311/v2/requests/{own}.json"),
            Some(&theirs),
        )
        .await;
        assert_error(s, &b, 404, "another key's report");
    }
);

db_test!(
    open311_reads_take_from_the_callers_bucket,
    settings = |s: &mut gridgov::config::ServeSettings| {
        s.auth.rate_limit_points = 25;
        s.auth.rate_limit_restore = 1;
    },
    |app| async move {
        let mut last = (0, Value::Null);
        for _ in 0..4 {
            last = get_json(&app, "/open311/v2/services.json", None).await;
        }
        assert_error(
            last.0,
            &last.1,
            429,
            "reads past a 25-point bucket (10 points each)",
        );
    }
);
