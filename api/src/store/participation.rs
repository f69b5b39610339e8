//! Participation writes: registration (one or many, idempotent), check-in/out, cancel, no-show.
//!
//! A single registration is a batch of one, so the rules live in one place. A batch runs a fixed
//! number of statements whatever its size: the services (locked), people, organisations,
//! existing participations, places taken and earlier idempotency keys are each read with one
//! `IN (…)` query, the rules are applied in input order in memory, and the new rows, keys and
//! audit entries are each written with one multi-row insert.

use super::write::{Writer, check_version, db, snapshot};
use crate::error::{ApiError, ApiResult};
use crate::policy::Scoped;
use chrono::{DateTime, Duration, Utc};
use entity::{
    ParticipationRole, ParticipationStatus, ServiceStatus, audit_log, idempotency_key,
    organization, participation, person, service,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// The idempotency scope of registrations.
pub const OPERATION: &str = "registerParticipation";

/// One registration request, validated field by field.
#[derive(Debug, Clone)]
pub struct Registration {
    pub service_id: Uuid,
    pub person_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub role: ParticipationRole,
    pub external_ref: Option<String>,
    pub idempotency_key: Option<String>,
    pub input_hash: String,
}

fn conflict(message: impl Into<String>, reason: &'static str, field: &str) -> ApiError {
    ApiError::Conflict {
        message: message.into(),
        reason: Some(reason),
        details: vec![("field".into(), field.into())],
    }
}

fn open(status: ServiceStatus) -> bool {
    matches!(status, ServiceStatus::Published | ServiceStatus::InProgress)
}

/// Registers every valid item; the result of each item is in input order.
#[tracing::instrument(name = "store.register_participations", skip_all, fields(items = items.len()))]
pub async fn register_many(
    w: &Writer,
    items: &[Result<Registration, ApiError>],
) -> ApiResult<Vec<Result<participation::Model, ApiError>>> {
    let valid = || items.iter().filter_map(|i| i.as_ref().ok());
    let service_ids: Vec<Uuid> = valid()
        .map(|r| r.service_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let person_ids: Vec<Uuid> = valid()
        .map(|r| r.person_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let org_ids: Vec<Uuid> = valid()
        .filter_map(|r| r.organization_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let keys: Vec<&str> = valid()
        .filter_map(|r| r.idempotency_key.as_deref())
        .collect();

    // The services, locked in id order (so concurrent batches cannot deadlock) until commit:
    // places are counted and taken under the lock.
    let caller = &w.actor.caller;
    let mut q = service::Entity::find()
        .filter(service::Column::Id.is_in(service_ids.iter().copied()))
        .filter(service::Entity::visible(caller))
        .order_by_asc(service::Column::Id);
    if w.backend == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    let services: HashMap<Uuid, service::Model> = if service_ids.is_empty() {
        HashMap::new()
    } else {
        q.all(&w.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    // Earlier uses of the keys, and what they created. Read after the lock: a concurrent retry
    // of the same key waits for the first one above and then sees its key here.
    let earlier: HashMap<String, idempotency_key::Model> = if keys.is_empty() {
        HashMap::new()
    } else {
        idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Caller.eq(w.actor.id.as_str()))
            .filter(idempotency_key::Column::Key.is_in(keys.iter().copied()))
            .all(&w.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|k| (k.key.clone(), k))
            .collect()
    };
    // What the keys created, as far as the caller may see it now: a replay never returns a row
    // that has left the caller's view (it is NOT_FOUND then, like any object out of scope).
    let replayed: HashMap<Uuid, participation::Model> = if earlier.is_empty() {
        HashMap::new()
    } else {
        participation::Entity::find()
            .filter(participation::Column::Id.is_in(earlier.values().map(|k| k.result_id)))
            .filter(participation::Entity::visible(caller))
            .all(&w.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|p| (p.id, p))
            .collect()
    };

    let people = visible_ids::<person::Entity>(w, &person_ids).await?;
    let orgs = visible_ids::<organization::Entity>(w, &org_ids).await?;
    // The active (not cancelled) participations of these people in these services: at most one
    // per pair (a partial unique index). Cancelled ones stay as they are, with their history.
    let mut existing: HashMap<(Uuid, Uuid), participation::Model> = if service_ids.is_empty() {
        HashMap::new()
    } else {
        participation::Entity::find()
            .filter(participation::Column::ServiceId.is_in(service_ids.iter().copied()))
            .filter(participation::Column::PersonId.is_in(person_ids.iter().copied()))
            .filter(participation::Column::Status.ne(ParticipationStatus::Cancelled))
            .all(&w.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|p| ((p.service_id, p.person_id), p))
            .collect()
    };
    let mut taken: HashMap<Uuid, i64> = if service_ids.is_empty() {
        HashMap::new()
    } else {
        participation::Entity::find()
            .select_only()
            .column(participation::Column::ServiceId)
            .column_as(Expr::col(participation::Column::Id).count(), "n")
            .filter(participation::Column::ServiceId.is_in(service_ids.iter().copied()))
            .filter(participation::Column::Status.ne(ParticipationStatus::Cancelled))
            .group_by(participation::Column::ServiceId)
            .into_tuple::<(Uuid, i64)>()
            .all(&w.txn)
            .await
            .map_err(db)?
            .into_iter()
            .collect()
    };

    let mut results: Vec<Result<participation::Model, ApiError>> = Vec::with_capacity(items.len());
    let mut inserts: Vec<participation::Model> = Vec::new();
    // Keys used earlier in this batch: (input hash, index of the item).
    let mut batch_keys: HashMap<&str, (&str, usize)> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let r = match item {
            Ok(r) => r,
            Err(e) => {
                results.push(Err(e.clone()));
                continue;
            }
        };
        if let Some(key) = r.idempotency_key.as_deref() {
            if let Some(k) = earlier.get(key) {
                results.push(
                    if k.operation == OPERATION && k.request_hash == r.input_hash {
                        replayed
                            .get(&k.result_id)
                            .cloned()
                            .ok_or_else(|| ApiError::not_found("Participation"))
                    } else {
                        Err(key_reused())
                    },
                );
                continue;
            }
            if let Some((hash, first)) = batch_keys.get(key) {
                results.push(if *hash == r.input_hash {
                    results[*first].clone()
                } else {
                    Err(key_reused())
                });
                continue;
            }
            batch_keys.insert(key, (r.input_hash.as_str(), index));
        }
        let outcome = (|| {
            let service = services
                .get(&r.service_id)
                .ok_or_else(|| ApiError::NotFoundField {
                    what: "Service".into(),
                    field: "serviceId".into(),
                })?;
            if !open(service.status) {
                return Err(not_open("registration", service.status));
            }
            if !people.contains(&r.person_id) {
                return Err(ApiError::NotFoundField {
                    what: "Person".into(),
                    field: "personId".into(),
                });
            }
            if let Some(org) = r.organization_id
                && !orgs.contains(&org)
            {
                return Err(ApiError::NotFoundField {
                    what: "Organization".into(),
                    field: "organizationId".into(),
                });
            }
            if existing.contains_key(&(r.service_id, r.person_id)) {
                return Err(conflict(
                    "the person is already registered for this service",
                    "ALREADY_REGISTERED",
                    "personId",
                ));
            }
            let used = taken.get(&r.service_id).copied().unwrap_or(0);
            if let Some(capacity) = service.capacity
                && used >= i64::from(capacity)
            {
                return Err(ApiError::Conflict {
                    message: format!("the service is full ({capacity} places)"),
                    reason: Some("SERVICE_FULL"),
                    details: vec![("capacity".into(), capacity.into())],
                });
            }
            Ok(participation::Model {
                id: Uuid::now_v7(),
                service_id: r.service_id,
                person_id: r.person_id,
                organization_id: r.organization_id,
                role: r.role,
                status: ParticipationStatus::Registered,
                registered_at: w.now,
                checked_in_at: None,
                checked_out_at: None,
                minutes: None,
                external_ref: r.external_ref.clone(),
                created_at: w.now,
                updated_at: w.now,
                version: 1,
            })
        })();
        match outcome {
            Ok(fresh) => {
                *taken.entry(r.service_id).or_insert(0) += 1;
                existing.insert((r.service_id, r.person_id), fresh.clone());
                inserts.push(fresh.clone());
                results.push(Ok(fresh));
            }
            Err(e) => results.push(Err(e)),
        }
    }

    // Writes: one multi-row insert per table (chunked below SQLite's parameter limit).
    for chunk in inserts.chunks(500) {
        participation::Entity::insert_many(
            chunk
                .iter()
                .map(|m| m.clone().into_active_model().reset_all()),
        )
        .exec_without_returning(&w.txn)
        .await
        .map_err(db)?;
    }
    // What this batch wrote (replays are not among them), and the keys and entries recorded
    // so far.
    let written: HashSet<Uuid> = inserts.iter().map(|m| m.id).collect();
    let mut keys = Vec::new();
    let mut keyed: HashSet<&str> = HashSet::new();
    let mut audits = Vec::new();
    let mut audited: HashSet<Uuid> = HashSet::new();
    for (item, result) in items.iter().zip(&results) {
        let (Ok(r), Ok(p)) = (item, result) else {
            continue;
        };
        if !written.contains(&p.id) {
            continue;
        }
        if let Some(key) = &r.idempotency_key
            && batch_keys
                .get(key.as_str())
                .is_some_and(|(h, _)| *h == r.input_hash)
            && keyed.insert(key.as_str())
        {
            keys.push(idempotency_key::Model {
                id: Uuid::now_v7(),
                caller: w.actor.id.clone(),
                key: key.clone(),
                operation: OPERATION.to_owned(),
                request_hash: r.input_hash.clone(),
                result_id: p.id,
                created_at: w.now,
                updated_at: w.now,
                version: 1,
            });
        }
        if !audited.insert(p.id) {
            continue;
        }
        audits.push(w.audit_entry(
            OPERATION,
            "Participation",
            p.id,
            None,
            Some(snapshot(p)),
            None,
        ));
    }
    for chunk in keys.chunks(500) {
        idempotency_key::Entity::insert_many(
            chunk
                .iter()
                .map(|m| m.clone().into_active_model().reset_all()),
        )
        .exec_without_returning(&w.txn)
        .await
        .map_err(db)?;
    }
    for chunk in audits.chunks(500) {
        audit_log::Entity::insert_many(
            chunk
                .iter()
                .map(|m| m.clone().into_active_model().reset_all()),
        )
        .exec_without_returning(&w.txn)
        .await
        .map_err(db)?;
    }
    let created: Vec<Uuid> = inserts.iter().map(|m| m.id).collect();
    w.created::<participation::Entity>(&created).await?;
    // `participantCount` of their services changed.
    let services: BTreeSet<Uuid> = inserts.iter().map(|m| m.service_id).collect();
    let services: Vec<Uuid> = services.into_iter().collect();
    w.counted::<service::Entity>(&services).await?;
    Ok(results)
}

/// Which of `ids` exist and are visible to the writer's caller, in one statement.
async fn visible_ids<E: Scoped>(w: &Writer, ids: &[Uuid]) -> ApiResult<HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let id = Expr::col((E::default(), E::id_col()));
    Ok(E::find()
        .select_only()
        .column_as(id.clone(), "id")
        .filter(id.is_in(ids.iter().copied()))
        .filter(E::visible(&w.actor.caller))
        .into_tuple::<Uuid>()
        .all(&w.txn)
        .await
        .map_err(db)?
        .into_iter()
        .collect())
}

/// CONFLICT for registration or check-in on a service that is not PUBLISHED or IN_PROGRESS.
fn not_open(what: &str, status: ServiceStatus) -> ApiError {
    let status = super::service::status_name(status);
    ApiError::Conflict {
        message: format!("{what} is closed: the service is {status}"),
        reason: Some("SERVICE_NOT_OPEN"),
        details: vec![("currentStatus".into(), status.into())],
    }
}

fn key_reused() -> ApiError {
    ApiError::Conflict {
        message: "this idempotency key was already used with a different input".into(),
        reason: Some("IDEMPOTENCY_KEY_REUSED"),
        details: vec![("field".into(), "idempotencyKey".into())],
    }
}

/// How far in the future a check-in or check-out time may lie (clock skew of client devices).
const MAX_SKEW: Duration = Duration::minutes(5);
/// How long before `startsAt` a check-in is accepted: volunteers arrive early to set up.
pub const CHECK_IN_EARLY: Duration = Duration::hours(2);
/// How long after `endsAt` a check-out is accepted: clearing up, and a late tap on the app.
pub const CHECK_OUT_LATE: Duration = Duration::hours(2);
/// How long a service without `endsAt` is taken to last, for its attendance window.
pub const LENGTH_WITHOUT_END: Duration = Duration::hours(24);

fn check_not_future(w: &Writer, at: DateTime<Utc>) -> ApiResult<()> {
    if at > w.now + MAX_SKEW {
        return Err(ApiError::bad_input("at", "`at` is in the future"));
    }
    Ok(())
}

/// When attendance of a service may be recorded: check-in from `opens` to `ends`, check-out
/// until `closes`. Volunteer hours are counted inside it only, so that a back-dated check-in
/// cannot credit more than the service lasted (plus the margins).
struct Window {
    opens: DateTime<Utc>,
    ends: DateTime<Utc>,
    closes: DateTime<Utc>,
}

impl Window {
    fn of(service: &service::Model) -> Window {
        let ends = service
            .ends_at
            .unwrap_or(service.starts_at + LENGTH_WITHOUT_END);
        Window {
            opens: service.starts_at - CHECK_IN_EARLY,
            ends,
            closes: ends + CHECK_OUT_LATE,
        }
    }

    fn check_in(&self, at: DateTime<Utc>) -> ApiResult<()> {
        if at < self.opens || at > self.ends {
            return Err(ApiError::bad_input(
                "at",
                format!(
                    "`at` is outside the service's check-in window: check-in is open from {} hours before `startsAt` ({}) until the service ends ({})",
                    CHECK_IN_EARLY.num_hours(),
                    rfc3339(self.opens),
                    rfc3339(self.ends)
                ),
            ));
        }
        Ok(())
    }

    fn check_out(&self, at: DateTime<Utc>) -> ApiResult<()> {
        if at > self.closes {
            return Err(ApiError::bad_input(
                "at",
                format!(
                    "`at` is outside the service's window: check-out is open until {} hours after the service ends ({})",
                    CHECK_OUT_LATE.num_hours(),
                    rfc3339(self.closes)
                ),
            ));
        }
        Ok(())
    }

    /// Whole minutes between `from` and `to`, counted inside the window only.
    fn minutes(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
        let (from, to) = (Ord::max(from, self.opens), Ord::min(to, self.closes));
        i32::try_from(Ord::max((to - from).num_minutes(), 0)).unwrap_or(i32::MAX)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The service of a participation, read for its times only. Not scoped: whoever may change
/// the participation may have its window checked, even if the service itself is out of view
/// (a volunteer organisation does not see a cancelled service).
async fn service_of(w: &Writer, p: &participation::Model) -> ApiResult<service::Model> {
    service::Entity::find_by_id(p.service_id)
        .one(&w.txn)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::internal("participation without its service"))
}

fn status_name(s: ParticipationStatus) -> &'static str {
    match s {
        ParticipationStatus::Registered => "REGISTERED",
        ParticipationStatus::CheckedIn => "CHECKED_IN",
        ParticipationStatus::Completed => "COMPLETED",
        ParticipationStatus::Cancelled => "CANCELLED",
        ParticipationStatus::NoShow => "NO_SHOW",
    }
}

/// Loads a participation for a status change: locked, version checked, status allowed.
async fn for_change(
    w: &Writer,
    id: Uuid,
    expected: Option<i32>,
    allowed: &[ParticipationStatus],
    action: &str,
) -> ApiResult<participation::Model> {
    let current = w.lock::<participation::Entity>(id).await?;
    check_version(current.version, expected)?;
    if !allowed.contains(&current.status) {
        return Err(ApiError::Conflict {
            message: format!(
                "cannot {action} a participation that is {}",
                status_name(current.status)
            ),
            reason: Some("INVALID_STATUS"),
            details: vec![("currentStatus".into(), status_name(current.status).into())],
        });
    }
    Ok(current)
}

async fn save(
    w: &Writer,
    action: &str,
    current: participation::Model,
    next: participation::Model,
    details: Option<serde_json::Value>,
) -> ApiResult<participation::Model> {
    let saved = w
        .update::<participation::Entity>(next, current.version)
        .await?;
    w.touched::<participation::Entity>(&[saved.id]).await?;
    let cancelled = |m: &participation::Model| m.status == ParticipationStatus::Cancelled;
    if cancelled(&current) != cancelled(&saved) {
        // The place it held counts in the service's `participantCount`.
        w.counted::<service::Entity>(&[saved.service_id]).await?;
    }
    w.audit(
        action,
        "Participation",
        saved.id,
        Some(snapshot(&current)),
        Some(snapshot(&saved)),
        details,
    )
    .await?;
    Ok(saved)
}

pub async fn check_in(
    w: &Writer,
    id: Uuid,
    at: Option<DateTime<Utc>>,
    expected: Option<i32>,
) -> ApiResult<participation::Model> {
    let current = for_change(
        w,
        id,
        expected,
        &[ParticipationStatus::Registered],
        "check in",
    )
    .await?;
    let service = w.lock::<service::Entity>(current.service_id).await?;
    if !open(service.status) {
        return Err(not_open("check-in", service.status));
    }
    let at = at.unwrap_or(w.now);
    check_not_future(w, at)?;
    Window::of(&service).check_in(at)?;
    let next = participation::Model {
        status: ParticipationStatus::CheckedIn,
        checked_in_at: Some(at),
        ..current.clone()
    };
    save(w, "checkIn", current, next, None).await
}

pub async fn check_out(
    w: &Writer,
    id: Uuid,
    at: Option<DateTime<Utc>>,
    minutes: Option<i32>,
    expected: Option<i32>,
) -> ApiResult<participation::Model> {
    let current = for_change(
        w,
        id,
        expected,
        &[ParticipationStatus::CheckedIn],
        "check out",
    )
    .await?;
    let at = at.unwrap_or(w.now);
    check_not_future(w, at)?;
    let checked_in = current
        .checked_in_at
        .ok_or_else(|| ApiError::internal("checked-in participation without check-in time"))?;
    if at < checked_in {
        return Err(ApiError::bad_input(
            "at",
            "check-out must not be before check-in",
        ));
    }
    let window = Window::of(&service_of(w, &current).await?);
    window.check_out(at)?;
    // Counted inside the window: a check-in recorded before a later change of `startsAt`
    // credits no time before the window opens.
    let elapsed = window.minutes(checked_in, at);
    let minutes = match minutes {
        None => elapsed,
        Some(m) if (0..=elapsed).contains(&m) => m,
        Some(_) => {
            return Err(ApiError::bad_input(
                "minutes",
                format!(
                    "`minutes` must be between 0 and the {elapsed} minutes between check-in and check-out within the service's window"
                ),
            ));
        }
    };
    let next = participation::Model {
        status: ParticipationStatus::Completed,
        checked_out_at: Some(at),
        minutes: Some(minutes),
        ..current.clone()
    };
    save(w, "checkOut", current, next, None).await
}

pub async fn cancel(
    w: &Writer,
    id: Uuid,
    reason: Option<String>,
    expected: Option<i32>,
) -> ApiResult<participation::Model> {
    let allowed = [
        ParticipationStatus::Registered,
        ParticipationStatus::CheckedIn,
    ];
    let current = for_change(w, id, expected, &allowed, "cancel").await?;
    let next = participation::Model {
        status: ParticipationStatus::Cancelled,
        ..current.clone()
    };
    let details = reason.map(|r| serde_json::json!({ "reason": r }));
    save(w, "cancelParticipation", current, next, details).await
}

pub async fn mark_no_show(
    w: &Writer,
    id: Uuid,
    expected: Option<i32>,
) -> ApiResult<participation::Model> {
    let current = for_change(
        w,
        id,
        expected,
        &[ParticipationStatus::Registered],
        "mark as no-show",
    )
    .await?;
    let next = participation::Model {
        status: ParticipationStatus::NoShow,
        ..current.clone()
    };
    save(w, "markNoShow", current, next, None).await
}
