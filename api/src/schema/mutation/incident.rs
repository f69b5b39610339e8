//! Incident mutations: reporting, the life cycle, ratings and the responsibility list.
//!
//! Who may call what (`docs/incidents.md`): every authenticated caller but AGENCY reports;
//! ADMIN and GRID_MANAGER (in its subtrees) take every step; VOLUNTEER_ORG starts and
//! resolves what is assigned to its organisation; the reporter reopens and rates. Each step is
//! one transaction with `expectedVersion`, its history event, feed change and audit entry.

use super::{create_once, write};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::schema::incident::{
    Incident, IncidentSeverity, IncidentSource, Responsibility, assignee_of,
};
use crate::schema::input::{opt_long_text, opt_text, text};
use crate::schema::relay::id_of;
use crate::store::incident::{self as store, Report, Step};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::{grid, incident};
use serde::Serialize;

/// Roles that may report incidents (PUBLIC only with a credential: a resident's JWT or an API
/// key).
const REPORTERS: &[Role] = &[
    Role::Admin,
    Role::GridManager,
    Role::VolunteerOrg,
    Role::Public,
];
/// Roles that take the steps of the life cycle; the store narrows some steps further.
const HANDLERS: &[Role] = &[
    Role::Admin,
    Role::GridManager,
    Role::VolunteerOrg,
    Role::Public,
];

/// A new incident for `reportIncident`.
#[derive(InputObject, Serialize)]
pub struct ReportIncidentInput {
    /// The grid the problem is in (global id).
    pub grid_id: ID,
    /// The category's code (see `incidentCategories`).
    pub category_code: String,
    /// Title, 1–200 characters, one line.
    pub title: String,
    /// What was seen, at most 5,000 characters; line breaks allowed.
    pub description: Option<String>,
    /// Latitude (WGS 84), −90 to 90; with `longitude`.
    pub latitude: Option<f64>,
    /// Longitude (WGS 84), −180 to 180; with `latitude`.
    pub longitude: Option<f64>,
    /// Where it is, at most 300 characters.
    pub address: Option<String>,
    /// How grave it is; the category's default when omitted.
    pub severity: Option<IncidentSeverity>,
    /// The channel; only ADMIN may set it (e.g. HOTLINE for a 12345 work order). Others get the
    /// one of their role: GRID_WORKER (GRID_MANAGER), PARTNER (VOLUNTEER_ORG), PORTAL (PUBLIC).
    pub source: Option<IncidentSource>,
    /// Name of the person to contact, at most 100 characters (personal data).
    pub contact_name: Option<String>,
    /// Their phone number: 5 to 20 digits, with optional `+`, `-` and spaces (personal data).
    pub contact_phone: Option<String>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// A line of the responsibility list for `setResponsibility`.
#[derive(InputObject)]
pub struct SetResponsibilityInput {
    /// The grid whose subtree the line covers (global id).
    pub grid_id: ID,
    /// The category's code.
    pub category_code: String,
    /// The responsible grid worker (a Person with a grid assignment) or organisation.
    pub assignee_id: ID,
    /// A note, at most 300 characters (e.g. the legal basis).
    pub note: Option<String>,
}

/// Result of `reportIncident`.
#[derive(SimpleObject)]
pub struct ReportIncidentPayload {
    /// The incident as it is after the mutation.
    pub incident: Incident,
}

/// Result of a step of an incident's life cycle.
#[derive(SimpleObject)]
pub struct IncidentPayload {
    /// The incident as it is after the mutation.
    pub incident: Incident,
}

/// Result of `setResponsibility`.
#[derive(SimpleObject)]
pub struct SetResponsibilityPayload {
    /// The line as it is after the mutation.
    pub responsibility: Responsibility,
}

/// Validates a contact phone number.
fn contact_phone(v: Option<&str>) -> ApiResult<Option<String>> {
    let Some(v) = opt_text("contactPhone", v, 32)? else {
        return Ok(None);
    };
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let ok = v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        && (5..=20).contains(&digits);
    if !ok {
        return Err(ApiError::bad_input(
            "contactPhone",
            "`contactPhone` must be 5 to 20 digits, with optional `+`, `-` and spaces",
        ));
    }
    Ok(Some(v))
}

/// Validates a position: both coordinates or neither, in range.
pub fn position(lat: Option<f64>, long: Option<f64>) -> ApiResult<(Option<f64>, Option<f64>)> {
    match (lat, long) {
        (None, None) => Ok((None, None)),
        (Some(a), Some(o)) => {
            if !(-90.0..=90.0).contains(&a) || !a.is_finite() {
                return Err(ApiError::bad_input(
                    "latitude",
                    "`latitude` must be between -90 and 90",
                ));
            }
            if !(-180.0..=180.0).contains(&o) || !o.is_finite() {
                return Err(ApiError::bad_input(
                    "longitude",
                    "`longitude` must be between -180 and 180",
                ));
            }
            Ok((Some(a), Some(o)))
        }
        (None, Some(_)) => Err(ApiError::bad_input(
            "latitude",
            "`latitude` and `longitude` go together",
        )),
        (Some(_), None) => Err(ApiError::bad_input(
            "longitude",
            "`latitude` and `longitude` go together",
        )),
    }
}

/// The channel of a report by `role`; only ADMIN chooses.
fn source_for(role: Role, asked: Option<IncidentSource>) -> ApiResult<entity::IncidentSource> {
    use entity::IncidentSource as S;
    let own = match role {
        Role::Admin => return Ok(asked.map_or(S::Portal, Into::into)),
        Role::GridManager => S::GridWorker,
        Role::VolunteerOrg => S::Partner,
        _ => S::Portal,
    };
    match asked {
        Some(a) if entity::IncidentSource::from(a) != own => Err(ApiError::bad_input(
            "source",
            "only ADMIN may set `source`; omit it",
        )),
        _ => Ok(own),
    }
}

/// Validates and builds a report (shared with the Open311 endpoint).
pub fn build_report(
    input: &ReportIncidentInput,
    source: entity::IncidentSource,
) -> ApiResult<Report> {
    let (latitude, longitude) = position(input.latitude, input.longitude)?;
    Ok(Report {
        grid_id: id_of::<grid::Entity>(&input.grid_id, "gridId")?,
        category_code: text("categoryCode", &input.category_code, 32)?,
        title: text("title", &input.title, 200)?,
        description: opt_long_text("description", input.description.as_deref(), 5000)?,
        latitude,
        longitude,
        address: opt_text("address", input.address.as_deref(), 300)?,
        severity: input.severity.map(Into::into),
        source,
        contact_name: opt_text("contactName", input.contact_name.as_deref(), 100)?,
        contact_phone: contact_phone(input.contact_phone.as_deref())?,
    })
}

/// Reports an incident in one transaction, at most once per idempotency key.
pub async fn report(
    ctx: &Context<'_>,
    input: ReportIncidentInput,
    source: Option<entity::IncidentSource>,
) -> ApiResult<incident::Model> {
    let caller = super::caller(ctx)?;
    if !caller.is_authenticated() {
        return Err(ApiError::Unauthenticated);
    }
    caller.require_write(REPORTERS)?;
    let source = match source {
        Some(s) => s,
        None => source_for(caller.role, input.source)?,
    };
    let key = idempotency_key(&input.idempotency_key)?;
    let hash = input_hash(&input);
    let report = build_report(&input, source)?;
    let report = &report;
    create_once::<incident::Entity, _, _>(
        ctx,
        "reportIncident",
        key,
        &hash,
        move |w, id| async move { store::report(&w, id, report.clone()).await },
    )
    .await
}

/// A note given with a step: at most 2,000 characters.
fn note(v: Option<String>) -> ApiResult<Option<String>> {
    opt_long_text("note", v.as_deref(), 2000)
}

/// A required reason: 1–500 characters.
fn reason(v: &str) -> ApiResult<String> {
    text("reason", v, 500)
}

async fn step(
    ctx: &Context<'_>,
    id: ID,
    step: Step,
    note_text: Option<String>,
    expected_version: Option<i32>,
) -> ApiResult<IncidentPayload> {
    let caller = super::caller(ctx)?;
    if !caller.is_authenticated() {
        return Err(ApiError::Unauthenticated);
    }
    caller.require_write(HANDLERS)?;
    let id = id_of::<incident::Entity>(&id, "id")?;
    let note_text = note(note_text)?;
    let model = write(ctx, |w| {
        let (step, note_text) = (step.clone(), note_text.clone());
        async move { store::transition(&w, id, step, note_text, expected_version).await }
    })
    .await?;
    Ok(IncidentPayload {
        incident: Incident(model),
    })
}

#[derive(Default)]
pub struct IncidentMutation;

#[Object]
impl IncidentMutation {
    /// Reports an incident (REPORTED). It is routed by the responsibility list (the line of
    /// the deepest grid above it wins) and gets its deadlines from its category. Any
    /// authenticated role but AGENCY; a GRID_MANAGER reports within its subtrees.
    async fn report_incident(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new incident.")] input: ReportIncidentInput,
    ) -> ApiResult<ReportIncidentPayload> {
        // A transport that knows the channel says so (Open311); clients cannot set it.
        let via = ctx.data_opt::<crate::open311::ReportedVia>().map(|v| v.0);
        let model = report(ctx, input, via).await?;
        Ok(ReportIncidentPayload {
            incident: Incident(model),
        })
    }

    /// Sets the line of the responsibility list for a grid subtree and a category (replacing
    /// the line there, if any). ADMIN; GRID_MANAGER within its subtrees.
    async fn set_responsibility(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line.")] input: SetResponsibilityInput,
    ) -> ApiResult<SetResponsibilityPayload> {
        super::caller(ctx)?.require_write(super::MANAGERS)?;
        let grid_id = id_of::<grid::Entity>(&input.grid_id, "gridId")?;
        let code = text("categoryCode", &input.category_code, 32)?;
        let assignee = assignee_of(&input.assignee_id, "assigneeId")?;
        let note = opt_text("note", input.note.as_deref(), 300)?;
        let model = write(ctx, |w| {
            let (code, note) = (code.clone(), note.clone());
            async move { store::set_responsibility(&w, grid_id, &code, assignee, note).await }
        })
        .await?;
        Ok(SetResponsibilityPayload {
            responsibility: Responsibility(model),
        })
    }
}

/// Declares the step mutations of the life cycle: each takes the incident's `id`, then its own
/// arguments, then `note` and `expectedVersion`, and runs [`step`] with the [`Step`] its body
/// builds from its own arguments (`?` in the body returns the mutation's error).
macro_rules! steps {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($arg:ident: $ty:ty = $desc:literal),* $(,)?) $body:block
    )*) => {
        /// The steps of an incident's life cycle (see [`steps!`]).
        #[derive(Default)]
        pub struct IncidentStepMutation;

        #[Object]
        impl IncidentStepMutation {$(
            $(#[doc = $doc])*
            async fn $name(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "Global id of the incident.")] id: ID,
                $(#[graphql(desc = $desc)] $arg: $ty,)*
                #[graphql(desc = "A note for the history, at most 2,000 characters.")]
                note: Option<String>,
                #[graphql(
                    desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
                )]
                expected_version: Option<i32>,
            ) -> ApiResult<IncidentPayload> {
                let taken: Step = $body;
                step(ctx, id, taken, note, expected_version).await
            }
        )*}
    };
}

steps! {
    /// REPORTED or ESCALATED → ACCEPTED (立案). ADMIN, GRID_MANAGER.
    fn accept_incident() { Step::Accept }

    /// REPORTED or ESCALATED → REJECTED, with a reason (not a case for the grid). ADMIN,
    /// GRID_MANAGER.
    fn reject_incident(reason: String = "Why it is rejected, 1–500 characters.") {
        Step::Reject { reason: self::reason(&reason)? }
    }

    /// ACCEPTED, ESCALATED or REOPENED → DISPATCHED (派遣) to `assigneeId`, or to whom the
    /// incident is routed by the responsibility list; DISPATCHED → DISPATCHED re-assigns.
    /// ADMIN, GRID_MANAGER.
    fn dispatch_incident(
        assignee_id: Option<ID> = "The grid worker (Person) or Organization to handle it; the responsibility list's choice when omitted.",
    ) {
        let assignee = assignee_id
            .map(|a| assignee_of(&a, "assigneeId"))
            .transpose()?;
        Step::Dispatch { assignee }
    }

    /// DISPATCHED or REOPENED → IN_PROGRESS (处置). ADMIN, GRID_MANAGER, or the assigned
    /// organisation (VOLUNTEER_ORG).
    fn start_incident() { Step::Start }

    /// IN_PROGRESS → RESOLVED: the assignee reports it solved. ADMIN, GRID_MANAGER, or the
    /// assigned organisation.
    fn resolve_incident() { Step::Resolve }

    /// RESOLVED → VERIFIED (核查). ADMIN, GRID_MANAGER.
    fn verify_incident() { Step::Verify }

    /// VERIFIED → CLOSED (结案); or REPORTED → CLOSED for a SIMPLE incident closed on the spot
    /// (就地解决) by the grid worker who reported it. ADMIN, GRID_MANAGER.
    fn close_incident() { Step::Close }

    /// RESOLVED, VERIFIED or CLOSED → REOPENED, within 30 days of its resolution or closure
    /// (`CONFLICT` with reason `REOPEN_WINDOW_PASSED` after). ADMIN, GRID_MANAGER, or the
    /// reporter.
    fn reopen_incident() { Step::Reopen }

    /// Escalates an unfinished incident to the parent grid's office (吹哨) with a reason:
    /// ESCALATED, `handlingGrid` the parent, deadlines restarted from the category's hours,
    /// routed by the parent's line of the responsibility list. `CONFLICT` (`NO_PARENT_GRID`)
    /// at the top of the hierarchy. ADMIN, GRID_MANAGER.
    fn escalate_incident(reason: String = "Why the grid cannot solve it, 1–500 characters.") {
        Step::Escalate { reason: self::reason(&reason)? }
    }

    /// Records the reporter's satisfaction (1–5) with a RESOLVED, VERIFIED or CLOSED incident;
    /// a later rating replaces it (both stay in the history). The reporter, ADMIN or
    /// GRID_MANAGER (for a callback).
    fn rate_incident(satisfaction: i32 = "1 (very dissatisfied) to 5 (very satisfied).") {
        if !(1..=5).contains(&satisfaction) {
            return Err(ApiError::bad_input(
                "satisfaction",
                "`satisfaction` must be 1 to 5",
            ));
        }
        Step::Rate { satisfaction }
    }
}
