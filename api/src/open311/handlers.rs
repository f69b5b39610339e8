//! The GeoReport v2 handlers: parameters in, GraphQL operations as the caller, answers out.

use super::mapping::{self, Catalogue, ServiceRequest};
use super::public::{self, PublicFilter};
use super::{ClientResolver, Format, Open311Error, ReportedVia};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ratelimit::Throttle;
use crate::schema::relay::{gid, id_of};
use crate::server::AppState;
use crate::server::pipeline::Transport;
use crate::server::request_id::RequestId;
use crate::store::write::Actor;
use async_graphql::{ID, Variables};
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use entity::{grid, incident};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// Most requests one `requests.json` answer holds (the newest first); narrow the dates to
/// see older ones.
const MAX_REQUESTS: usize = 100;
/// The widest `start_date`..`end_date` range, and the default window back from now.
const MAX_RANGE_DAYS: i64 = 90;
/// Most ids or codes of a comma-separated parameter.
const MAX_LIST: usize = 100;
/// Points the reads outside GraphQL (categories, the anonymous listing) take from the
/// caller's bucket: about what a page of `incidents` costs.
const DIRECT_READ_COST: u64 = 10;

/// The parameters of a request (query string, or form or JSON body), first value wins.
struct Params(HashMap<String, String>);

impl Params {
    fn of(pairs: Vec<(String, String)>) -> Params {
        let mut map = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_insert(v);
        }
        Params(map)
    }

    fn from_query(raw: Option<&str>) -> Result<Params, Open311Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| Open311Error::bad_request("the query string is not form-encoded"))?;
        Ok(Params::of(pairs))
    }

    /// A non-empty, trimmed value.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A comma-separated list of at most [`MAX_LIST`] values.
    fn list(&self, name: &str) -> Result<Option<Vec<String>>, Open311Error> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let items: Vec<String> = v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if items.len() > MAX_LIST {
            return Err(Open311Error::bad_request(format!(
                "`{name}` takes at most {MAX_LIST} values"
            )));
        }
        Ok(Some(items))
    }

    fn date(&self, name: &str) -> Result<Option<DateTime<Utc>>, Open311Error> {
        self.get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        Open311Error::bad_request(format!(
                            "`{name}` must be a W3C datetime, e.g. 2026-12-01T00:00:00Z"
                        ))
                    })
            })
            .transpose()
    }

    fn number(&self, name: &str) -> Result<Option<f64>, Open311Error> {
        self.get(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| Open311Error::bad_request(format!("`{name}` must be a number")))
            })
            .transpose()
    }
}

/// One Open311 request: who calls, and the rate-limit bucket as the last step left it.
struct Session {
    state: AppState,
    actor: Actor,
    format: Format,
    throttle: Option<Throttle>,
}

impl Session {
    /// Authenticates the caller from `api_key` or the `Authorization` header (not both).
    async fn start(
        state: AppState,
        peer: SocketAddr,
        resolver: ClientResolver,
        ids: &RequestId,
        headers: &HeaderMap,
        api_key: Option<&str>,
        format: Format,
    ) -> Result<Session, Open311Error> {
        let client = (resolver.0)(peer.ip(), headers, &state.settings.trusted_proxies);
        let mut headers = headers.clone();
        if let Some(key) = api_key {
            if headers.contains_key(header::AUTHORIZATION) {
                return Err(Open311Error::bad_request(
                    "send the API key once: as `api_key` or in the Authorization header",
                ));
            }
            let value = HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| Open311Error::from(ApiError::Unauthenticated))?;
            headers.insert(header::AUTHORIZATION, value);
        }
        let caller = state.authenticate(&headers, client).await?;
        Ok(Session {
            actor: AppState::actor(caller, ids),
            state,
            format,
            throttle: None,
        })
    }

    fn caller(&self) -> &Caller {
        &self.actor.caller
    }

    /// Takes `cost` points for a read that does not go through GraphQL.
    fn charge(&mut self, cost: u64) -> Result<(), Open311Error> {
        match self.state.rate.charge(&self.actor.id, cost) {
            Ok(t) => {
                self.throttle = Some(t);
                Ok(())
            }
            Err((e, t)) => {
                self.throttle = Some(t);
                metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
                Err(e.into())
            }
        }
    }

    /// Runs one GraphQL operation through the pipeline as the caller; its `data`, or its
    /// first error.
    async fn graphql(
        &mut self,
        query: &str,
        variables: Value,
        transport: Transport,
        via: Option<ReportedVia>,
    ) -> Result<Value, Open311Error> {
        let mut request =
            async_graphql::Request::new(query).variables(Variables::from_json(variables));
        if let Some(via) = via {
            request = request.data(via);
        }
        let answer = self.state.run(request.into(), &self.actor, transport).await;
        self.throttle = Some(answer.throttle);
        if let Some(e) = answer.response.errors.first() {
            return Err(match ApiError::of(e) {
                Some(api) => Open311Error::from(api),
                // async-graphql's own validation and coercion errors (safe texts).
                None if e.source.is_none() => Open311Error::bad_request(e.message.clone()),
                None => Open311Error::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            });
        }
        answer
            .response
            .data
            .into_json()
            .map_err(|_| Open311Error::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
    }

    /// The database the direct reads use: the replica when there is one, as GraphQL queries.
    fn reads(&self) -> &sea_orm::DatabaseConnection {
        self.state.replica.as_ref().unwrap_or(&self.state.db)
    }

    async fn catalogue(&mut self) -> Result<Catalogue, Open311Error> {
        self.charge(DIRECT_READ_COST)?;
        Ok(Catalogue::new(public::categories(self.reads()).await?))
    }

    /// `value` in the session's format, with the rate-limit headers of the caller's bucket.
    fn reply(&self, root: &str, item: &str, value: &Value) -> Response {
        let response = self.format.answer(StatusCode::OK, root, item, value);
        self.with_rate_headers(response)
    }

    fn refuse(&self, e: &Open311Error) -> Response {
        self.with_rate_headers(e.answer(self.format))
    }

    fn with_rate_headers(&self, mut response: Response) -> Response {
        let rate = &self.state.rate;
        let throttle = self.throttle.unwrap_or_else(|| rate.peek(&self.actor.id));
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&rate.policy_header()) {
            headers.insert("ratelimit-policy", v);
        }
        if let Ok(v) = HeaderValue::from_str(&rate.header(throttle)) {
            headers.insert("ratelimit", v);
        }
        response
    }
}

/// What every GET handler gets from axum.
type Ctx = (
    State<AppState>,
    ConnectInfo<SocketAddr>,
    Extension<ClientResolver>,
    Extension<RequestId>,
);

/// Reads the query string and authenticates (anonymous without a key); the answer to give
/// instead when either fails.
async fn open(
    ctx: Ctx,
    headers: &HeaderMap,
    raw: Option<&str>,
    format: Format,
) -> Result<(Session, Params), Response> {
    let (State(state), ConnectInfo(peer), Extension(resolver), Extension(ids)) = ctx;
    let params = Params::from_query(raw).map_err(|e| e.answer(format))?;
    let session = Session::start(
        state,
        peer,
        resolver,
        &ids,
        headers,
        params.get("api_key"),
        format,
    )
    .await
    .map_err(|e| e.answer(format))?;
    Ok((session, params))
}

fn no_such_resource(format: Format) -> Response {
    Open311Error::not_found("no such GeoReport v2 resource").answer(format)
}

/// `GET /open311/v2/{discovery,services,requests}.{json,xml}`.
pub async fn get_root(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(resolver): Extension<ClientResolver>,
    Extension(ids): Extension<RequestId>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = (
        State(state),
        ConnectInfo(peer),
        Extension(resolver),
        Extension(ids),
    );
    let Some((name, format)) = Format::split(&file) else {
        return no_such_resource(Format::Json);
    };
    if name == "discovery" {
        return discovery(format);
    }
    if name != "services" && name != "requests" {
        return no_such_resource(format);
    }
    let (mut s, p) = match open(ctx, &headers, raw.as_deref(), format).await {
        Ok(opened) => opened,
        Err(r) => return r,
    };
    let answer = if name == "services" {
        services(&mut s).await.map(|v| (v, "services", "service"))
    } else {
        list_requests(&mut s, &p)
            .await
            .map(|v| (v, "service_requests", "request"))
    };
    match answer {
        Ok((v, root, item)) => s.reply(root, item, &v),
        Err(e) => s.refuse(&e),
    }
}

/// `GET /open311/v2/services/{service_code}.{json,xml}`: the service definition.
pub async fn get_service(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(resolver): Extension<ClientResolver>,
    Extension(ids): Extension<RequestId>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = (
        State(state),
        ConnectInfo(peer),
        Extension(resolver),
        Extension(ids),
    );
    let Some((code, format)) = Format::split(&file) else {
        return no_such_resource(Format::Json);
    };
    let (mut s, _) = match open(ctx, &headers, raw.as_deref(), format).await {
        Ok(opened) => opened,
        Err(r) => return r,
    };
    match service_definition(&mut s, code).await {
        Ok(v) => s.reply("service_definition", "", &v),
        Err(e) => s.refuse(&e),
    }
}

/// `GET /open311/v2/requests/{service_request_id}.{json,xml}`.
pub async fn get_request(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(resolver): Extension<ClientResolver>,
    Extension(ids): Extension<RequestId>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = (
        State(state),
        ConnectInfo(peer),
        Extension(resolver),
        Extension(ids),
    );
    let Some((id, format)) = Format::split(&file) else {
        return no_such_resource(Format::Json);
    };
    let (mut s, _) = match open(ctx, &headers, raw.as_deref(), format).await {
        Ok(opened) => opened,
        Err(r) => return r,
    };
    match one_request(&mut s, id).await {
        Ok(v) => s.reply("service_requests", "request", &v),
        Err(e) => s.refuse(&e),
    }
}

/// `POST /open311/v2/requests.{json,xml}`: a new service request, answered synchronously.
pub async fn post_root(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(resolver): Extension<ClientResolver>,
    Extension(ids): Extension<RequestId>,
    Path(file): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = match Format::split(&file) {
        Some(("requests", format)) => format,
        Some((_, format)) => {
            let mut r = Open311Error::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "only requests.json and requests.xml take POST",
            )
            .answer(format);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
            return r;
        }
        None => return no_such_resource(Format::Json),
    };
    let params = match read_form(&headers, body, state.settings.limits.body_limit).await {
        Ok(p) => p,
        Err(e) => return e.answer(format),
    };
    if params.get("api_key").is_none() && !headers.contains_key(header::AUTHORIZATION) {
        let mut r =
            Open311Error::new(StatusCode::UNAUTHORIZED, "api_key is required").answer(format);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(crate::server::reply::CREDENTIAL_REQUIRED),
        );
        return r;
    }
    let mut session = match Session::start(
        state,
        peer,
        resolver,
        &ids,
        &headers,
        params.get("api_key"),
        format,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return e.answer(format),
    };
    match create(&mut session, &params).await {
        Ok(v) => session.reply("service_requests", "request", &v),
        Err(e) => session.refuse(&e),
    }
}

fn discovery(format: Format) -> Response {
    let changeset = "2026-12-02T00:00:00Z";
    let value = json!({
        "changeset": changeset,
        "contact": "The operator of this gridgov deployment (see docs/open311.md).",
        "key_service": "API keys are issued by the operator (`gridgov apikey create`).",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "/open311/v2",
            "changeset": changeset,
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    });
    format.answer(StatusCode::OK, "discovery", "", &value)
}

async fn services(s: &mut Session) -> Result<Value, Open311Error> {
    let catalogue = s.catalogue().await?;
    let list: Vec<mapping::Service> = catalogue
        .categories
        .iter()
        .map(|c| catalogue.service(c))
        .collect();
    Ok(serde_json::to_value(list).unwrap_or_default())
}

async fn service_definition(s: &mut Session, code: &str) -> Result<Value, Open311Error> {
    let catalogue = s.catalogue().await?;
    if catalogue.by_code(code).is_none() {
        return Err(Open311Error::not_found(format!(
            "unknown service_code `{code}`"
        )));
    }
    Ok(json!({ "service_code": code, "attributes": [] }))
}

/// The GraphQL reads of service requests.
fn list_query() -> String {
    format!(
        "query Open311Requests($filter: IncidentFilter, $first: Int) {{ incidents(filter: $filter, first: $first) {{ nodes {{ ...Open311Request }} }} }} {}",
        mapping::FRAGMENT
    )
}

fn nodes_query() -> String {
    format!(
        "query Open311RequestsById($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Incident {{ ...Open311Request }} }} }} {}",
        mapping::FRAGMENT
    )
}

/// The service requests the caller may see among `ids`, in their order.
async fn by_ids(s: &mut Session, ids: &[String]) -> Result<Vec<ServiceRequest>, Open311Error> {
    let uuids = ids
        .iter()
        .map(|id| {
            id_of::<incident::Entity>(&ID(id.clone()), "service_request_id").map_err(|_| {
                Open311Error::bad_request(format!(
                    "`{id}` is not a service_request_id of this server"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen: HashMap<String, ServiceRequest> = HashMap::new();
    if s.caller().is_authenticated() {
        let data = s
            .graphql(&nodes_query(), json!({ "ids": ids }), Transport::Get, None)
            .await?;
        for node in data["nodes"].as_array().into_iter().flatten() {
            if let Some(r) = mapping::from_graphql(node) {
                seen.insert(r.service_request_id.clone(), r);
            }
        }
    }
    let missing: Vec<_> = uuids
        .iter()
        .copied()
        .filter(|u| !seen.contains_key(gid::<incident::Entity>(*u).as_str()))
        .collect();
    if !missing.is_empty() {
        let catalogue = s.catalogue().await?;
        let filter = PublicFilter {
            ids: Some(missing),
            ..Default::default()
        };
        for row in public::list(s.reads(), &filter, MAX_LIST as u64).await? {
            let r = mapping::from_public(&row, &catalogue);
            seen.insert(r.service_request_id.clone(), r);
        }
    }
    let mut out = Vec::new();
    let mut given = HashSet::new();
    for id in ids {
        if given.insert(id.clone())
            && let Some(r) = seen.remove(id)
        {
            out.push(r);
        }
    }
    Ok(out)
}

async fn list_requests(s: &mut Session, p: &Params) -> Result<Value, Open311Error> {
    {
        // GeoReport: with `service_request_id`, every other parameter is ignored.
        if let Some(ids) = p.list("service_request_id")? {
            return Ok(serde_json::to_value(by_ids(s, &ids).await?).unwrap_or_default());
        }
        let statuses = match p.list("status")? {
            None => None,
            Some(values) => {
                let mut all = Vec::new();
                for v in values {
                    all.extend(mapping::statuses_of(&v).ok_or_else(|| {
                        Open311Error::bad_request("`status` must be `open` or `closed`")
                    })?);
                }
                Some(all)
            }
        };
        let (start, end) = range(p.date("start_date")?, p.date("end_date")?)?;
        let catalogue = s.catalogue().await?;
        let codes = p.list("service_code")?;
        if let Some(codes) = &codes
            && let Some(unknown) = codes.iter().find(|c| catalogue.by_code(c).is_none())
        {
            return Err(Open311Error::not_found(format!(
                "unknown service_code `{unknown}`"
            )));
        }
        let mut found: Vec<ServiceRequest> = Vec::new();
        if s.caller().is_authenticated() {
            let mut filter = json!({
                "reportedAfter": start.to_rfc3339(),
                "reportedBefore": end.to_rfc3339(),
            });
            if let Some(st) = &statuses {
                filter["status"] = serde_json::to_value(st).unwrap_or_default();
            }
            if let Some(codes) = &codes {
                filter["category"] = json!(codes);
            }
            let data = s
                .graphql(
                    &list_query(),
                    json!({ "filter": filter, "first": MAX_REQUESTS }),
                    Transport::Get,
                    None,
                )
                .await?;
            found.extend(
                data["incidents"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(mapping::from_graphql),
            );
        }
        let filter = PublicFilter {
            ids: None,
            categories: codes.as_deref().map(|c| catalogue.expand(c)),
            statuses,
            from: Some(start),
            until: Some(end),
        };
        let known: HashSet<String> = found.iter().map(|r| r.service_request_id.clone()).collect();
        for row in public::list(s.reads(), &filter, MAX_REQUESTS as u64).await? {
            let r = mapping::from_public(&row, &catalogue);
            if !known.contains(&r.service_request_id) {
                found.push(r);
            }
        }
        // Both lists are newest first; W3C datetimes in UTC sort as text.
        found.sort_by(|a, b| b.requested_datetime.cmp(&a.requested_datetime));
        found.truncate(MAX_REQUESTS);
        Ok(serde_json::to_value(found).unwrap_or_default())
    }
}

/// The reporting window: both ends given (at most 90 days apart), one end and 90 days from
/// it, or the last 90 days. `end` is exclusive.
fn range(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Open311Error> {
    let window = Duration::days(MAX_RANGE_DAYS);
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + window),
        (None, Some(e)) => (e - window, e),
        (None, None) => {
            // A second past now, so that a request reported this very second is listed.
            let now = Utc::now() + Duration::seconds(1);
            (now - window, now)
        }
    };
    if end < start {
        return Err(Open311Error::bad_request(
            "`end_date` must not be before `start_date`",
        ));
    }
    if end - start > window {
        return Err(Open311Error::bad_request(format!(
            "`start_date` to `end_date` spans at most {MAX_RANGE_DAYS} days"
        )));
    }
    Ok((start, end))
}

async fn one_request(s: &mut Session, id: &str) -> Result<Value, Open311Error> {
    let found = by_ids(s, &[id.to_owned()]).await?;
    if found.is_empty() {
        return Err(Open311Error::not_found(format!(
            "no service request `{id}`"
        )));
    }
    Ok(serde_json::to_value(found).unwrap_or_default())
}

/// Reads a POST body: `application/x-www-form-urlencoded` (the spec), or a JSON object.
async fn read_form(headers: &HeaderMap, body: Body, limit: usize) -> Result<Params, Open311Error> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Open311Error::bad_request("the body could not be read, or is too large"))?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !is_json {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| Open311Error::bad_request("the body is not form-encoded"))?;
        return Ok(Params::of(pairs));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| Open311Error::bad_request("the body is not JSON"))?;
    let Value::Object(fields) = value else {
        return Err(Open311Error::bad_request("the body must be a JSON object"));
    };
    let pairs = fields
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect();
    Ok(Params::of(pairs))
}

/// The title of a request: the first line of its description, clipped, or the service's
/// name (GeoReport has no title).
fn title_of(description: Option<&str>, service_name: &str) -> String {
    const MAX: usize = 80;
    let line = description
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or(service_name);
    if line.chars().count() <= MAX {
        return line.to_owned();
    }
    let mut t: String = line.chars().take(MAX - 1).collect();
    t.push('…');
    t
}

/// The grid a request is reported in: `grid_code` (a gridgov extension), or the API key's
/// only grid.
async fn grid_of(s: &Session, p: &Params) -> Result<ID, Open311Error> {
    if let Some(code) = p.get("grid_code") {
        return match public::grid_by_code(&s.state.db, code).await? {
            Some(id) => Ok(gid::<grid::Entity>(id)),
            None => Err(Open311Error::bad_request(format!(
                "unknown grid_code `{code}`"
            ))),
        };
    }
    match s.caller().grids.as_slice() {
        [only] => Ok(gid::<grid::Entity>(only.id)),
        _ => Err(Open311Error::bad_request(
            "`grid_code` is required: name the grid the request is in (this API key is not for exactly one grid)",
        )),
    }
}

const REPORT: &str = "mutation Open311Report($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id acceptDueAt } } }";

async fn create(s: &mut Session, p: &Params) -> Result<Value, Open311Error> {
    let code = p
        .get("service_code")
        .ok_or_else(|| Open311Error::bad_request("service_code is required"))?;
    let (lat, long) = (p.number("lat")?, p.number("long")?);
    let address = p.get("address_string");
    if (lat.is_none() || long.is_none()) && address.is_none() {
        return Err(Open311Error::bad_request(
            "a location is required: lat and long, or address_string",
        ));
    }
    let catalogue = s.catalogue().await?;
    let service_name = match catalogue.by_code(code) {
        Some(c) => c.name.clone(),
        None => {
            return Err(Open311Error::not_found(format!(
                "unknown service_code `{code}`"
            )));
        }
    };
    let grid = grid_of(s, p).await?;
    let description = p.get("description");
    let name = [p.get("first_name"), p.get("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let input = json!({
        "gridId": grid,
        "categoryCode": code,
        "title": title_of(description, &service_name),
        "description": description,
        "latitude": lat,
        "longitude": long,
        "address": address,
        "contactName": (!name.is_empty()).then_some(name),
        "contactPhone": p.get("phone"),
    });
    let data = s
        .graphql(
            REPORT,
            json!({ "i": input }),
            Transport::Post,
            Some(ReportedVia(entity::IncidentSource::Open311)),
        )
        .await
        .map_err(rename_fields)?;
    let incident = &data["reportIncident"]["incident"];
    let id = incident["id"].as_str().unwrap_or_default();
    let notice = match incident["acceptDueAt"].as_str() {
        Some(due) => format!("Received; the grid office accepts or rejects it by {due}."),
        None => "Received.".to_owned(),
    };
    Ok(json!([{ "service_request_id": id, "service_notice": notice, "account_id": null }]))
}

/// Names the GeoReport parameter in an error about a `reportIncident` field.
fn rename_fields(mut e: Open311Error) -> Open311Error {
    for (ours, theirs) in [
        ("`latitude`", "`lat`"),
        ("`longitude`", "`long`"),
        ("`contactPhone`", "`phone`"),
        ("`contactName`", "`first_name`/`last_name`"),
        ("`address`", "`address_string`"),
    ] {
        e.description = e.description.replace(ours, theirs);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_default_to_ninety_days_and_refuse_wider_ones() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
        };
        let Ok((s, e)) = range(t("2026-01-01T00:00:00Z"), None) else {
            panic!("a start alone is a range");
        };
        assert_eq!((e - s).num_days(), 90);
        assert!(range(t("2026-01-01T00:00:00Z"), t("2026-04-02T00:00:00Z")).is_err());
        assert!(range(t("2026-02-01T00:00:00Z"), t("2026-01-01T00:00:00Z")).is_err());
        let Ok((s, e)) = range(None, None) else {
            panic!("no dates is the default range");
        };
        assert!(e > Utc::now() && (e - s).num_days() == 90);
    }

    #[test]
    fn titles_are_the_first_line_clipped() {
        assert_eq!(
            title_of(Some("\n  路灯不亮\n第二行"), "路灯损坏"),
            "路灯不亮"
        );
        assert_eq!(title_of(None, "路灯损坏"), "路灯损坏");
        assert_eq!(title_of(Some(&"长".repeat(100)), "x").chars().count(), 80);
    }
}
