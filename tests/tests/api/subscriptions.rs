//! Subscriptions over WebSocket at `/graphql/ws`, spoken by the npm client `graphql-ws`
//! (`tests/ws-client`), so that the protocol is checked by a client nobody here wrote.

use crate::db_test;
use crate::fixture::{self, Fixture};
use crate::harness::TestApp;
use gridgov::auth::Role;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The client's folder, with its npm packages installed (once per test run).
async fn client_dir() -> PathBuf {
    static READY: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ws-client");
            if !dir.join("node_modules/graphql-ws").exists() {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--silent"])
                    .current_dir(&dir)
                    .status()
                    .await
                    .expect("npm (Node.js) is needed for the subscription tests");
                assert!(status.success(), "npm ci in tests/ws-client failed");
            }
            dir
        })
        .await
        .clone()
}

/// How long a test waits for one message before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// One `graphql-ws` client running one subscription.
pub(crate) struct Sub {
    lines: Lines<BufReader<ChildStdout>>,
    _stdin: ChildStdin,
    _child: Child,
}

impl Sub {
    /// Connects to `addr` with `token` and subscribes; returns once the server acknowledged
    /// the connection.
    pub(crate) async fn start(
        addr: SocketAddr,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Sub {
        let mut sub = Sub::spawn(addr, token, query, variables).await;
        let first = sub.next().await;
        assert_eq!(
            first,
            json!({ "connected": true }),
            "connection refused: {first}"
        );
        sub
    }

    async fn spawn(addr: SocketAddr, token: Option<&str>, query: &str, variables: Value) -> Sub {
        let dir = client_dir().await;
        let mut child = Command::new("node")
            .arg(dir.join("subscribe.mjs"))
            .arg(format!("ws://{addr}/graphql/ws"))
            .arg(token.unwrap_or("-"))
            .arg(query)
            .arg(variables.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take().expect("stdin");
        Sub {
            lines: BufReader::new(stdout).lines(),
            _stdin: stdin,
            _child: child,
        }
    }

    /// The next line the client printed, or `None` after `wait` without one.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        match tokio::time::timeout(wait, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Some(serde_json::from_str(&line).expect("JSON line")),
            Ok(_) => panic!("the client ended"),
            Err(_) => None,
        }
    }

    pub(crate) async fn next(&mut self) -> Value {
        self.next_within(PATIENCE)
            .await
            .expect("no message from the subscription")
    }

    /// The payload of the next event of the subscription's one root field.
    async fn event(&mut self, field: &str) -> Value {
        let line = self.next().await;
        assert!(
            line["next"]["errors"].is_null(),
            "the subscription failed: {line:#}"
        );
        line["next"]["data"][field].clone()
    }

    /// Reads events until one satisfies `last`; returns them all, that one last. Events show
    /// their object as it is when delivered, so events of earlier changes to the same object
    /// may come first.
    async fn events_until(&mut self, field: &str, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let ev = self.event(field).await;
            let done = last(&ev);
            seen.push(ev);
            if done {
                return seen;
            }
        }
    }

    /// Repeats `poke` until the subscription delivers an event whose `node.title` (or id) is
    /// `marker`: from then on the server is known to deliver to this subscription, and every
    /// earlier event has been read. `poke(n)` must make a change marked `marker(n)`.
    async fn until_live<F, Fut>(&mut self, field: &str, poke: F) -> String
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = String>,
    {
        for n in 0..100 {
            let marker = poke(n).await;
            let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            while let Some(line) = self
                .next_within(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await
            {
                let ev = &line["next"]["data"][field];
                if marker_of(ev) == Some(marker.as_str()) {
                    return marker;
                }
            }
        }
        panic!("the subscription never delivered an event");
    }
}

/// The title of a service event, or the object id of any other event.
fn marker_of(ev: &Value) -> Option<&str> {
    ev["node"]["title"].as_str().or(ev["objectId"].as_str())
}

/// Renames a service through the server at `addr`.
async fn rename(app: &TestApp, addr: SocketAddr, service: &str, title: &str) {
    let body: Value = app
        .http
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&app.admin_key)
        .json(&json!({
            "query": "mutation($s: ID!, $t: String!) { updateService(id: $s, input: { title: $t }) { service { title } } }",
            "variables": { "s": service, "t": title },
        }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body["data"]["updateService"]["service"]["title"], title,
        "{body:#}"
    );
}

/// A new published service in G11, organised by `gov`.
async fn fresh_service(app: &TestApp, f: &Fixture) -> String {
    let created = app
        .data(
            "mutation($g: ID!, $o: ID!) { createService(input: { gridId: $g, organizerId: $o, title: \"入户走访\", category: ELDERLY_CARE, startsAt: \"2026-12-20T01:00:00Z\" }) { service { id } } }",
            json!({ "g": f.grid("G11"), "o": f.org("gov") }),
        )
        .await;
    let id = created["createService"]["service"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data(
        "mutation($s: ID!) { transitionService(id: $s, to: PUBLISHED) { service { id } } }",
        json!({ "s": id }),
    )
    .await;
    id
}

const SERVICE_CHANGED: &str = "subscription($g: ID) { serviceChanged(withinGridId: $g) { kind objectId cursor node { id title } } }";

db_test!(
    an_event_reaches_a_subscriber_on_another_replica,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let other = app.second_server().await;
        let s2 = f.service("s2");
        let mut sub = Sub::start(app.addr, Some(&app.admin_key), SERVICE_CHANGED, json!({})).await;

        // Every change is made through the other replica.
        let app = &app;
        let s2 = &s2;
        let marker = sub
            .until_live("serviceChanged", |n| async move {
                let title = format!("探访 {n}");
                rename(app, other, s2, &title).await;
                title
            })
            .await;
        assert!(marker.starts_with("探访"));

        rename(app, other, s2, "换了名字").await;
        let seen = sub
            .events_until("serviceChanged", |ev| ev["node"]["title"] == "换了名字")
            .await;
        let ev = seen.last().unwrap();
        assert_eq!(ev["kind"], "UPDATED");
        assert_eq!(ev["objectId"].as_str(), Some(s2.as_str()));
        assert_eq!(ev["node"]["title"], "换了名字");
        // The event's cursor resumes the change feed right after it.
        let after = app
            .data(
                "query($c: String) { changes(after: $c) { edges { cursor } } }",
                json!({ "c": ev["cursor"] }),
            )
            .await;
        assert_eq!(after["changes"]["edges"], json!([]));
    }
);

db_test!(
    a_subscriber_never_receives_objects_outside_its_scope,
    |app| async move {
        let f: Fixture = fixture::load(&app.db).await;
        let manager = app
            .key(Role::GridManager, &["370685001001"], None, &["pii:read"])
            .await;
        let mut sub = Sub::start(app.addr, Some(&manager), SERVICE_CHANGED, json!({})).await;
        let (s2, s4) = (f.service("s2"), f.service("s4"));
        let app = &app;
        let s2r = &s2;
        sub.until_live("serviceChanged", |n| async move {
            let title = format!("准备 {n}");
            rename(app, app.addr, s2r, &title).await;
            title
        })
        .await;

        // s4 lies in C2, outside the manager's C1; s2 lies in C1.
        rename(app, app.addr, &s4, "外面").await;
        rename(app, app.addr, &s2, "里面").await;
        let seen = sub
            .events_until("serviceChanged", |ev| ev["node"]["title"] == "里面")
            .await;
        for ev in &seen {
            assert_eq!(
                ev["objectId"].as_str(),
                Some(s2.as_str()),
                "out of scope: {ev:#}"
            );
        }

        // A filter narrows further: only the subtree of G12 (s3), not s2 in G11.
        let mut narrow = Sub::start(
            app.addr,
            Some(&manager),
            SERVICE_CHANGED,
            json!({ "g": f.grid("G12") }),
        )
        .await;
        let s3 = f.service("s3");
        let s3r = &s3;
        narrow
            .until_live("serviceChanged", |n| async move {
                let title = format!("咨询 {n}");
                rename(app, app.addr, s3r, &title).await;
                title
            })
            .await;
        rename(app, app.addr, &s2, "不在G12").await;
        rename(app, app.addr, &s3, "在G12").await;
        let seen = narrow
            .events_until("serviceChanged", |ev| ev["node"]["title"] == "在G12")
            .await;
        for ev in &seen {
            assert_eq!(
                ev["objectId"].as_str(),
                Some(s3.as_str()),
                "outside G12: {ev:#}"
            );
        }

        // Participations: the volunteer organisation hears of its own registrations only, and
        // personal data stays masked even for a manager with `pii:read`.
        let vol = app
            .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &["pii:read"])
            .await;
        let query = "subscription { participationChanged { kind objectId node { organization { id } person { phone } } } }";
        let mut own = Sub::start(app.addr, Some(&vol), query, json!({})).await;
        let mut theirs = Sub::start(app.addr, Some(&manager), query, json!({})).await;
        // Each registration goes to a fresh published service in G11 (within C1).
        let register = |person: &'static str, org: &'static str| {
            let f = &f;
            async move {
                let service = fresh_service(app, f).await;
                let body = app
                .data(
                    "mutation($s: ID!, $p: ID!, $o: ID!) { registerParticipation(input: { serviceId: $s, personId: $p, organizationId: $o }) { participation { id } } }",
                    json!({ "s": service, "p": f.person(person), "o": f.org(org) }),
                )
                .await;
                body["registerParticipation"]["participation"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        // The participation's id marks its event.
        own.until_live("participationChanged", |_| register("zhang_wei", "vol"))
            .await;
        theirs
            .until_live("participationChanged", |_| register("zhang_wei", "vol"))
            .await;
        let other_org = register("li_na", "gov").await;
        let mine = register("liu_yang", "vol").await;
        let is_mine = |ev: &Value| ev["objectId"].as_str() == Some(mine.as_str());
        let seen = own.events_until("participationChanged", is_mine).await;
        for ev in &seen {
            assert_ne!(
                ev["objectId"].as_str(),
                Some(other_org.as_str()),
                "another org's: {ev:#}"
            );
            assert_eq!(
                ev["node"]["organization"]["id"].as_str(),
                Some(f.org("vol").as_str())
            );
        }
        // The manager sees both (both services lie in C1), with phones masked.
        let seen = theirs.events_until("participationChanged", is_mine).await;
        assert!(
            seen.iter()
                .any(|ev| ev["objectId"].as_str() == Some(other_org.as_str())),
            "the manager missed a registration in its scope: {seen:#?}"
        );
        for ev in seen {
            let phone = ev["node"]["person"]["phone"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            assert!(phone.contains('*'), "unmasked phone in an event: {phone}");
        }
    }
);

db_test!(
    a_listener_with_a_url_of_its_own_delivers_events,
    |app| async move {
        // What a deployment behind a transaction-mode pooler does: the listener connects directly.
        let f = fixture::load(&app.db).await;
        let direct = app
            .second_server_with(|s, url| {
                if url.starts_with("postgres") {
                    s.notify_database_url = Some(url.to_owned());
                }
            })
            .await;
        let mut sub = Sub::start(direct, Some(&app.admin_key), SERVICE_CHANGED, json!({})).await;
        let (app, s2) = (&app, &f.service("s2"));
        let marker = sub
            .until_live("serviceChanged", |n| async move {
                let title = format!("直连 {n}");
                rename(app, app.addr, s2, &title).await;
                title
            })
            .await;
        assert!(marker.starts_with("直连"));
    }
);

#[tokio::test]
async fn a_listener_url_that_is_not_postgres_is_refused_without_echoing_it() {
    let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
    let mut settings = gridgov::config::ServeSettings::ephemeral().unwrap();
    settings.notify_database_url = Some("postgres://u:s3cret@[::bad".into());
    let Err(e) = gridgov::server::Application::build(db, settings).await else {
        panic!("a broken listener URL was accepted");
    };
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(!e.to_string().contains("s3cret"), "{e}");
}

db_test!(
    shutting_down_closes_subscriptions_with_going_away,
    |app| async move {
        let mut sub = Sub::start(app.addr, Some(&app.admin_key), SERVICE_CHANGED, json!({})).await;
        app.shutdown.trigger();
        let line = sub.next().await;
        assert_eq!(line["closed"]["code"], 1001, "{line}");
    }
);

db_test!(
    the_websocket_endpoint_refuses_what_it_must,
    |app| async move {
        // A bad credential ends the connection during the handshake with graphql-ws's 4401.
        let mut bad = Sub::spawn(app.addr, Some("gg_not-a-key"), SERVICE_CHANGED, json!({})).await;
        let line = bad.next().await;
        assert_ne!(line, json!({ "connected": true }));
        let code = line["closed"]["code"]
            .as_u64()
            .or(line["error"]["code"].as_u64());
        assert_eq!(code, Some(4401), "{line}");

        // Queries and mutations belong to POST /graphql.
        let mut query = Sub::start(
            app.addr,
            Some(&app.admin_key),
            "{ grids { totalCount } }",
            json!({}),
        )
        .await;
        let line = query.next().await;
        let errors = line["next"]["errors"]
            .as_array()
            .or(line["error"].as_array())
            .unwrap_or_else(|| panic!("expected errors: {line}"))
            .clone();
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{line}");

        // A subscription to an object the caller cannot see is NOT_FOUND, like a query.
        let public = Sub::start(
            app.addr,
            None,
            "subscription($s: ID) { participationChanged(serviceId: $s) { kind } }",
            json!({ "s": gridgov::schema::relay::global_id("Service", uuid::Uuid::now_v7()).0 }),
        )
        .await;
        let mut public = public;
        let line = public.next().await;
        let errors = line["next"]["errors"]
            .as_array()
            .or(line["error"].as_array())
            .unwrap_or_else(|| panic!("expected errors: {line}"))
            .clone();
        assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{line}");

        // Without the sub-protocol the upgrade is refused.
        let resp = app
            .http
            .get(app.url("/graphql/ws"))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
    }
);

db_test!(
    a_connection_whose_key_is_revoked_is_closed,
    settings = |s| s.ws_recheck = 1,
    |app| async move {
        let new = |name: &str| gridgov::auth::apikey::NewKey {
            name: name.to_owned(),
            role: Role::Admin,
            grid_codes: vec![],
            organization_id: None,
            scopes: vec![],
            expires_at: None,
        };
        let (doomed, doomed_key) = gridgov::auth::apikey::create(&app.db, new("doomed"))
            .await
            .unwrap();
        let (_, kept_key) = gridgov::auth::apikey::create(&app.db, new("kept"))
            .await
            .unwrap();
        let mut revoked = Sub::start(app.addr, Some(&doomed_key), SERVICE_CHANGED, json!({})).await;
        let mut kept = Sub::start(app.addr, Some(&kept_key), SERVICE_CHANGED, json!({})).await;
        // Rechecks pass while the key is valid: nothing arrives on either connection.
        assert_eq!(revoked.next_within(Duration::from_millis(2500)).await, None);

        assert!(
            gridgov::auth::apikey::revoke(&app.db, doomed.id)
                .await
                .unwrap()
        );
        let line = revoked.next().await;
        assert_eq!(line["closed"]["code"], 4403, "{line}");
        // The other connection's key is still valid: it stays open through later rechecks.
        assert_eq!(kept.next_within(Duration::from_millis(2500)).await, None);
    }
);

db_test!(
    agency_cannot_subscribe_to_participations,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let agency = app.key(Role::Agency, &[], None, &["pii:read"]).await;
        let q = "subscription($s: ID) { participationChanged(serviceId: $s) { kind objectId node { id person { name } } } }";
        let mut sub = Sub::start(app.addr, Some(&agency), q, json!({ "s": f.service("s2") })).await;
        let line = sub.next().await;
        // graphql-ws delivers a resolver's refusal as the payload's errors (or as an error
        // message, depending on where it is raised): either way FORBIDDEN, and no data.
        let errors = line["next"]["errors"]
            .as_array()
            .or(line["error"].as_array())
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{line}");
        assert!(line["next"]["data"].is_null(), "{line}");
        // Services, which it may read, still reach it.
        let mut services = Sub::start(app.addr, Some(&agency), SERVICE_CHANGED, json!({})).await;
        rename(&app, app.addr, &f.service("s2"), "探访（改期）").await;
        let event = services.event("serviceChanged").await;
        assert_eq!(event["objectId"], json!(f.service("s2")), "{event}");
    }
);

const INCIDENT_CHANGED: &str = "subscription { incidentChanged { kind objectId node { title status assigneeOrganization { name } } } }";

/// Reports an incident in G11 titled `title`; dispatches it to `assignee` (an organisation's
/// global id) when given.
async fn incident(app: &TestApp, f: &Fixture, title: &str, assignee: Option<&str>) -> String {
    let body = app
        .data(
            "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id } } }",
            json!({ "i": { "gridId": f.grid("G11"), "categoryCode": "CITY_ROAD", "title": title } }),
        )
        .await;
    let id = body["reportIncident"]["incident"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    if let Some(a) = assignee {
        app.data(
            "mutation($id: ID!) { acceptIncident(id: $id) { incident { id } } }",
            json!({ "id": id }),
        )
        .await;
        app.data(
            "mutation($id: ID!, $a: ID) { dispatchIncident(id: $id, assigneeId: $a) { incident { id } } }",
            json!({ "id": id, "a": a }),
        )
        .await;
    }
    id
}

db_test!(
    incident_events_reach_only_the_assigned_organisation,
    |app| async move {
        let f = fixture::load(&app.db).await;
        let vol = app
            .key(Role::VolunteerOrg, &[], Some(f.orgs["vol"]), &[])
            .await;
        let mut sub = Sub::start(app.addr, Some(&vol), INCIDENT_CHANGED, json!({})).await;
        let (app, f) = (&app, &f);
        let vol_org = f.org("vol");
        let vol_org = &vol_org;
        sub.until_live("incidentChanged", |n| async move {
            let title = format!("井盖缺失 {n}");
            incident(app, f, &title, Some(vol_org)).await;
            title
        })
        .await;
        // One for another organisation, then one for this one: only the second arrives.
        incident(app, f, "不该看到", Some(&f.org("gov"))).await;
        incident(app, f, "派给志愿者", Some(vol_org)).await;
        let seen = sub
            .events_until("incidentChanged", |ev| ev["node"]["title"] == "派给志愿者")
            .await;
        assert!(
            seen.iter().all(|ev| ev["node"]["title"] != "不该看到"),
            "{seen:#?}"
        );
        let last = seen.last().unwrap();
        assert_eq!(last["node"]["status"], "DISPATCHED");
        assert_eq!(
            last["node"]["assigneeOrganization"]["name"],
            "泉山志愿者协会"
        );
        // AGENCY may not follow incidents at all.
        let agency = app.key(Role::Agency, &[], None, &[]).await;
        let mut refused = Sub::start(app.addr, Some(&agency), INCIDENT_CHANGED, json!({})).await;
        let line = refused.next().await;
        let errors = line["next"]["errors"]
            .as_array()
            .or(line["error"].as_array())
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{line}");
    }
);
