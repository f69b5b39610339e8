//! Incidents (事件): reported problems of a grid, their life cycle and history, the
//! categories with their deadlines, and the responsibility list.

use super::RequestCtx;
use super::grid::Grid;
use super::organization::Organization;
use super::person::{Person, reveal_for};
use super::relay::{Connection, NodeObject, id_of};
use super::scalars::{DateTime, Order, order_field, order_spec, remote_enum, search_text};
use super::service::filter_list;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::loaders::{ById, ListBy};
use crate::policy::Field;
use crate::store::filters;
use crate::store::incident as store;
use crate::store::page::{Direction, OrderSpec, PageRequest};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::{
    grid, incident, incident_category, incident_event, organization, person, responsibility,
};
use gridgov_macros::{connections, node};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

remote_enum!(
    /// Where an incident stands. The six steps of the common flow are REPORTED (上报) →
    /// ACCEPTED (立案) → DISPATCHED (派遣) → IN_PROGRESS (处置) → RESOLVED → VERIFIED (核查) →
    /// CLOSED (结案); REJECTED, REOPENED and ESCALATED leave it. See `docs/incidents.md`.
    IncidentStatus => "entity::IncidentStatus" {
        /// Reported, waiting to be accepted by the grid office (`acceptDueAt` runs).
        Reported,
        /// Accepted as a case (立案), waiting to be dispatched.
        Accepted,
        /// Dispatched to its assignee (派遣), waiting for work to start.
        Dispatched,
        /// Being handled by its assignee (处置).
        InProgress,
        /// The assignee reports it solved; waiting for verification.
        Resolved,
        /// Verified by the grid office (核查); waiting to be closed.
        Verified,
        /// Closed and archived (结案).
        Closed,
        /// Not accepted as a case (with a reason in the history).
        Rejected,
        /// Reopened after its resolution or closure; dispatched or started again.
        Reopened,
        /// Escalated to the parent grid's office (吹哨), waiting to be accepted there.
        Escalated,
    }
);
remote_enum!(
    /// How grave an incident is.
    IncidentSeverity => "entity::IncidentSeverity" {
        /// Simple (简易): may be closed on the spot by the grid worker who reports it.
        Simple,
        /// General (一般).
        General,
        /// Major (突出).
        Major,
        /// Critical (重大).
        Critical,
    }
);
remote_enum!(
    /// Through which channel an incident was reported.
    IncidentSource => "entity::IncidentSource" {
        /// A resident through a portal or app.
        Portal,
        /// A grid worker, e.g. on patrol (巡查).
        GridWorker,
        /// The 12345 hotline (a hotline work order).
        Hotline,
        /// An Open311 GeoReport v2 client (`/open311/v2/requests.json`).
        #[graphql(name = "OPEN311")]
        Open311,
        /// A partner organisation's system.
        Partner,
    }
);
remote_enum!(
    /// What an entry of an incident's history records.
    IncidentEventKind => "entity::IncidentEventKind" {
        /// The incident was reported.
        Reported,
        /// Accepted as a case.
        Accepted,
        /// Rejected, with a reason.
        Rejected,
        /// Dispatched (or re-dispatched) to an assignee.
        Dispatched,
        /// Work started.
        Started,
        /// Reported solved.
        Resolved,
        /// Verified by the grid office.
        Verified,
        /// Closed.
        Closed,
        /// Reopened.
        Reopened,
        /// Escalated to the parent grid's office, with a reason.
        Escalated,
        /// Rated by the reporter (or for them).
        Rated,
    }
);

#[derive(Clone)]
pub struct Incident(pub incident::Model);

impl NodeObject for Incident {
    type Entity = incident::Entity;
    fn from_model(m: incident::Model) -> Self {
        Incident(m)
    }
}

#[derive(Clone)]
pub struct IncidentCategory(pub incident_category::Model);

#[derive(Clone)]
pub struct IncidentEvent(pub incident_event::Model);

#[derive(Clone)]
pub struct Responsibility(pub responsibility::Model);

impl NodeObject for Responsibility {
    type Entity = responsibility::Entity;
    fn from_model(m: responsibility::Model) -> Self {
        Responsibility(m)
    }
}

/// What `incidents` can be sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum IncidentOrderField {
    /// When the incident was reported.
    ReportedAt,
    /// Its closing deadline.
    DueAt,
    /// When it last changed.
    UpdatedAt,
}
order_field!(IncidentOrderField, incident::Entity, default = (ReportedAt, Desc), {
    ReportedAt => (incident::Column::CreatedAt, "REPORTED_AT"),
    DueAt => (incident::Column::DueAt, "DUE_AT"),
    UpdatedAt => (incident::Column::UpdatedAt, "UPDATED_AT"),
});

/// Filter of incidents; all given conditions must hold, a list matches any of its values.
#[derive(InputObject, Default)]
pub struct IncidentFilter {
    /// In exactly this grid (global id).
    pub grid_id: Option<ID>,
    /// In this grid or anywhere in its subtree.
    pub within_grid_id: Option<ID>,
    /// In any of these statuses (at most 20).
    pub status: Option<Vec<IncidentStatus>>,
    /// Of any of these category codes, or of their subcategories (at most 20).
    pub category: Option<Vec<String>>,
    /// Of any of these severities.
    pub severity: Option<Vec<IncidentSeverity>>,
    /// Reported through any of these channels.
    pub source: Option<Vec<IncidentSource>>,
    /// True: only those past a deadline now (see `Incident.overdue`); false: only those not.
    pub overdue: Option<bool>,
    /// Assigned to this grid worker or organisation (global id of a Person or Organization).
    pub assignee_id: Option<ID>,
    /// Reported at or after this instant.
    pub reported_after: Option<DateTime>,
    /// Reported strictly before this instant.
    pub reported_before: Option<DateTime>,
    /// Case-insensitive substring of the title or address.
    pub search: Option<String>,
}

/// Decodes the global id of a grid worker or an organisation.
pub fn assignee_of(id: &ID, field: &str) -> ApiResult<store::Assignee> {
    let (kind, key) = super::relay::decode_global_id(id, field)?;
    if kind == <person::Entity as crate::store::Table>::NAME {
        Ok(store::Assignee::Person(key))
    } else if kind == <organization::Entity as crate::store::Table>::NAME {
        Ok(store::Assignee::Organization(key))
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must be the id of a Person (a grid worker) or an Organization"),
        ))
    }
}

impl IncidentFilter {
    pub fn apply(
        self,
        mut select: Select<incident::Entity>,
    ) -> ApiResult<Select<incident::Entity>> {
        use incident::Column as C;
        if let Some(g) = &self.grid_id {
            select = select.filter(C::GridId.eq(id_of::<grid::Entity>(g, "filter.gridId")?));
        }
        if let Some(root) = &self.within_grid_id {
            let root = id_of::<grid::Entity>(root, "filter.withinGridId")?;
            select = select.filter(filters::grid_id_in_subtree(C::GridId, root));
        }
        if let Some(status) = &self.status {
            filter_list(status, "filter.status")?;
            select = select
                .filter(C::Status.is_in(status.iter().map(|s| entity::IncidentStatus::from(*s))));
        }
        if let Some(codes) = &self.category {
            filter_list(codes, "filter.category")?;
            let mut parents = Query::select();
            parents
                .column(incident_category::Column::Id)
                .from(incident_category::Entity)
                .and_where(incident_category::Column::Code.is_in(codes.iter().cloned()));
            let mut ids = Query::select();
            ids.column(incident_category::Column::Id)
                .from(incident_category::Entity)
                .cond_where(
                    Condition::any()
                        .add(incident_category::Column::Code.is_in(codes.iter().cloned()))
                        .add(incident_category::Column::ParentId.in_subquery(parents)),
                );
            select = select.filter(C::CategoryId.in_subquery(ids));
        }
        if let Some(sev) = &self.severity {
            filter_list(sev, "filter.severity")?;
            select = select
                .filter(C::Severity.is_in(sev.iter().map(|s| entity::IncidentSeverity::from(*s))));
        }
        if let Some(src) = &self.source {
            filter_list(src, "filter.source")?;
            select = select
                .filter(C::Source.is_in(src.iter().map(|s| entity::IncidentSource::from(*s))));
        }
        if let Some(overdue) = self.overdue {
            let cond = store::overdue_condition(crate::store::write::now());
            select = select.filter(if overdue { cond } else { cond.not() });
        }
        if let Some(a) = &self.assignee_id {
            select = select.filter(match assignee_of(a, "filter.assigneeId")? {
                store::Assignee::Person(p) => C::AssigneePersonId.eq(p),
                store::Assignee::Organization(o) => C::AssigneeOrganizationId.eq(o),
            });
        }
        if let Some(DateTime(t)) = self.reported_after {
            select = select.filter(C::CreatedAt.gte(t));
        }
        if let Some(DateTime(t)) = self.reported_before {
            select = select.filter(C::CreatedAt.lt(t));
        }
        if let Some(s) = &self.search {
            let s = search_text(s, "filter.search")?;
            select = select.filter(filters::search(&[C::Title, C::Address], &s));
        }
        Ok(select)
    }
}

async fn load_person(ctx: &Context<'_>, id: Option<Uuid>) -> ApiResult<Option<Person>> {
    let Some(id) = id else { return Ok(None) };
    let rq = RequestCtx::of(ctx)?;
    if crate::policy::rows::statistics_only(rq.actor.caller.role) {
        return Ok(None);
    }
    Ok(rq
        .loader
        .load_one(ById::<person::Entity>::new(id))
        .await?
        .map(Person))
}

async fn load_organization(ctx: &Context<'_>, id: Option<Uuid>) -> ApiResult<Option<Organization>> {
    let Some(id) = id else { return Ok(None) };
    Ok(RequestCtx::of(ctx)?
        .loader
        .load_one(ById::<organization::Entity>::new(id))
        .await?
        .map(Organization))
}

async fn load_grid(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Grid>> {
    Ok(RequestCtx::of(ctx)?
        .loader
        .load_one(ById::<grid::Entity>::new(id))
        .await?
        .map(Grid))
}

/// A problem reported in a grid (事件) and where its handling stands. Readable by ADMIN,
/// GRID_MANAGER in its subtrees, VOLUNTEER_ORG when assigned to or reported by its organisation,
/// and by whoever reported it (a resident's JWT with `person`, or a PUBLIC API key); AGENCY
/// reads incident statistics only.
#[node(tracked)]
#[Object]
impl Incident {
    /// Short title, one line.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// What was seen, as reported.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The category (and with it the deadlines).
    async fn category(&self, ctx: &Context<'_>) -> ApiResult<Option<IncidentCategory>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<incident_category::Entity>::new(self.0.category_id))
            .await?
            .map(IncidentCategory))
    }
    /// How grave it is.
    async fn severity(&self) -> IncidentSeverity {
        self.0.severity.into()
    }
    /// Through which channel it was reported.
    async fn source(&self) -> IncidentSource {
        self.0.source.into()
    }
    /// Where it stands in its life cycle.
    async fn status(&self) -> IncidentStatus {
        self.0.status.into()
    }
    /// The grid the problem is in.
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        load_grid(ctx, self.0.grid_id).await
    }
    /// The grid whose office is responsible now: the incident's own grid, or an ancestor after
    /// escalations.
    async fn handling_grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        load_grid(ctx, self.0.handling_grid_id).await
    }
    /// Latitude (WGS 84), when given.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    /// Longitude (WGS 84), when given.
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// Where it is, as free text.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// The name of the person to contact about it: personal data, null for roles that do not
    /// identify people.
    async fn contact_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(reveal_for(
            RequestCtx::of(ctx)?,
            self.0.id,
            Field::IncidentContactName,
            self.0.contact_name.as_deref(),
            None,
            false,
        ))
    }
    /// The contact's phone number: masked (`138****5678`) unless the caller has `pii:read`
    /// (then the read is written to the PII access log).
    async fn contact_phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(reveal_for(
            RequestCtx::of(ctx)?,
            self.0.id,
            Field::IncidentContactPhone,
            self.0.contact_phone.as_deref(),
            Some(crate::validate::mask_phone),
            false,
        ))
    }
    /// The resident or grid worker who reported it, when the reporter is a person the caller
    /// may see.
    async fn reporter_person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        load_person(ctx, self.0.reporter_person_id).await
    }
    /// The partner organisation that reported it, if one did.
    async fn reporter_organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        load_organization(ctx, self.0.reporter_organization_id).await
    }
    /// Whether the caller's own credential (or person) reported it.
    async fn reported_by_viewer(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let c = &RequestCtx::of(ctx)?.actor.caller;
        Ok(c.is_authenticated()
            && (self.0.reporter_credential == c.id
                || (c.person_id.is_some() && self.0.reporter_person_id == c.person_id)))
    }
    /// The grid worker it is assigned to (or routed to, before dispatch).
    async fn assignee_person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        load_person(ctx, self.0.assignee_person_id).await
    }
    /// The organisation it is assigned to (or routed to, before dispatch).
    async fn assignee_organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        load_organization(ctx, self.0.assignee_organization_id).await
    }
    /// When it was reported.
    async fn reported_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it was accepted as a case; null before (and again after an escalation).
    async fn accepted_at(&self) -> Option<DateTime> {
        self.0.accepted_at.map(Into::into)
    }
    /// By when it must be accepted (from the report or the last escalation).
    async fn accept_due_at(&self) -> DateTime {
        self.0.accept_due_at.into()
    }
    /// By when it must be closed (from the report or the last escalation).
    async fn due_at(&self) -> DateTime {
        self.0.due_at.into()
    }
    /// When it was last reported solved.
    async fn resolved_at(&self) -> Option<DateTime> {
        self.0.resolved_at.map(Into::into)
    }
    /// When it was closed (or rejected).
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(Into::into)
    }
    /// Whether it is past a deadline now: not CLOSED or REJECTED, and past `dueAt`, or still
    /// waiting for acceptance past `acceptDueAt`. Computed at the time of the request.
    async fn overdue(&self) -> bool {
        store::is_overdue(&self.0, crate::store::write::now())
    }
    /// The reporter's satisfaction, 1 (worst) to 5 (best); null until rated.
    async fn satisfaction(&self) -> Option<i32> {
        self.0.satisfaction
    }
    /// How many times it was escalated.
    async fn escalations(&self) -> i32 {
        self.0.escalations
    }
    /// Every transition and rating, oldest first. Never rewritten.
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<IncidentEvent>> {
        let key = ListBy::<incident_event::Entity> {
            key: self.0.id,
            by: incident_event::Column::IncidentId,
        };
        let mut rows: Vec<incident_event::Model> = RequestCtx::of(ctx)?
            .loader
            .load_one(key)
            .await?
            .map(|rows| rows.as_ref().clone())
            .unwrap_or_default();
        rows.sort_by_key(|e| e.position);
        Ok(rows.into_iter().map(IncidentEvent).collect())
    }
}

/// One entry of an incident's history.
#[Object]
impl IncidentEvent {
    /// What happened.
    async fn kind(&self) -> IncidentEventKind {
        self.0.kind.into()
    }
    /// The status before the event.
    async fn from_status(&self) -> Option<IncidentStatus> {
        self.0.from_status.map(Into::into)
    }
    /// The status after it.
    async fn to_status(&self) -> Option<IncidentStatus> {
        self.0.to_status.map(Into::into)
    }
    /// Who did it (the credential's identity); null for roles below GRID_MANAGER.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let role = RequestCtx::of(ctx)?.actor.caller.role;
        Ok(matches!(role, Role::Admin | Role::GridManager).then_some(self.0.actor.as_str()))
    }
    /// The note given with the transition.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// The reason of a rejection or an escalation.
    async fn reason(&self) -> Option<String> {
        self.detail("reason")
            .and_then(|v| v.as_str().map(str::to_owned))
    }
    /// The rating of a RATED event.
    async fn satisfaction(&self) -> Option<i32> {
        self.detail("satisfaction")
            .and_then(|v| v.as_i64())
            .and_then(|n| i32::try_from(n).ok())
    }
    /// Its place in the history: the incident's `version` right after it.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// When it happened.
    async fn at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

impl IncidentEvent {
    fn detail(&self, key: &str) -> Option<serde_json::Value> {
        let details: serde_json::Value = serde_json::from_str(self.0.details.as_deref()?).ok()?;
        details.get(key).cloned()
    }
}

/// A kind of incident (城市管理, 矛盾纠纷 …), with the deadlines its incidents get. Readable by
/// everyone.
#[Object]
impl IncidentCategory {
    /// Stable code, e.g. `CITY_STREETLIGHT`; also the Open311 `service_code`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name, e.g. `路灯损坏`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What belongs in it.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The code of the parent category; null for a top-level one.
    async fn parent_code(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(p) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<incident_category::Entity>::new(p))
            .await?
            .map(|c| c.code))
    }
    /// The severity an incident gets when its reporter gives none.
    async fn default_severity(&self) -> IncidentSeverity {
        self.0.default_severity.into()
    }
    /// Hours from report (or escalation) to acceptance.
    async fn accept_hours(&self) -> i32 {
        self.0.accept_hours
    }
    /// Hours from report (or escalation) to closure.
    async fn close_hours(&self) -> i32 {
        self.0.close_hours
    }
    /// Whether anonymous Open311 clients may list its incidents (without personal data).
    async fn publicly_listed(&self) -> bool {
        self.0.publicly_listed
    }
}

/// One line of the responsibility list (权责清单): who handles incidents of a category in a
/// grid's subtree. For an incident, the line of the deepest grid above it (or its own) wins.
/// Readable by ADMIN and GRID_MANAGER in its subtrees.
#[node(tracked)]
#[Object]
impl Responsibility {
    /// The grid whose subtree the line covers.
    async fn grid(&self, ctx: &Context<'_>) -> ApiResult<Option<Grid>> {
        load_grid(ctx, self.0.grid_id).await
    }
    /// The category it covers (and its subcategories without a line of their own).
    async fn category(&self, ctx: &Context<'_>) -> ApiResult<Option<IncidentCategory>> {
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<incident_category::Entity>::new(self.0.category_id))
            .await?
            .map(IncidentCategory))
    }
    /// The responsible grid worker, if the line names one.
    async fn assignee_person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        load_person(ctx, self.0.person_id).await
    }
    /// The responsible organisation, if the line names one.
    async fn assignee_organization(&self, ctx: &Context<'_>) -> ApiResult<Option<Organization>> {
        load_organization(ctx, self.0.organization_id).await
    }
    /// A note, e.g. the legal basis.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// Default order of the responsibility list: oldest line first.
fn responsibility_order() -> OrderSpec<responsibility::Entity> {
    OrderSpec {
        column: responsibility::Column::CreatedAt,
        direction: Direction::Asc,
        tag: "CREATED_AT",
    }
}

#[derive(Default)]
pub struct IncidentQuery;

#[connections]
#[Object]
impl IncidentQuery {
    /// An incident by global id; null when it does not exist or the caller may not see it.
    async fn incident(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the incident.")] id: ID,
    ) -> ApiResult<Option<Incident>> {
        let id = id_of::<incident::Entity>(&id, "id")?;
        Ok(RequestCtx::of(ctx)?
            .loader
            .load_one(ById::<incident::Entity>::new(id))
            .await?
            .map(Incident))
    }
    /// Incidents the caller may see, filtered and paged.
    #[connection]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only those that match every condition given; all when omitted.")]
        filter: Option<IncidentFilter>,
        #[graphql(desc = "Sort order (default `REPORTED_AT` descending); ties are broken by id.")]
        order_by: Option<Order<IncidentOrderField>>,
    ) -> ApiResult<Connection<Incident>> {
        let page = PageRequest::new(first, after, last, before)?;
        let select = filter.unwrap_or_default().apply(incident::Entity::find())?;
        Connection::root(RequestCtx::of(ctx)?, select, order_spec(order_by), page).await
    }
    /// Every incident category, by code (a short list: a street's taxonomy).
    async fn incident_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<IncidentCategory>> {
        let rq = RequestCtx::of(ctx)?;
        Ok(incident_category::Entity::find()
            .order_by_asc(incident_category::Column::Code)
            .limit(1000)
            .all(&rq.db)
            .await?
            .into_iter()
            .map(IncidentCategory)
            .collect())
    }
    /// The responsibility list the caller may see (ADMIN, GRID_MANAGER in its subtrees),
    /// optionally only the lines of grids in the subtree of `withinGridId`.
    #[connection]
    async fn responsibilities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only lines of grids in this grid's subtree (global id).")]
        within_grid_id: Option<ID>,
    ) -> ApiResult<Connection<Responsibility>> {
        let page = PageRequest::new(first, after, last, before)?;
        let mut select = responsibility::Entity::find();
        if let Some(root) = &within_grid_id {
            let root = id_of::<grid::Entity>(root, "withinGridId")?;
            select = select.filter(filters::grid_id_in_subtree(
                responsibility::Column::GridId,
                root,
            ));
        }
        Connection::root(RequestCtx::of(ctx)?, select, responsibility_order(), page).await
    }
}

/// The nested `incidents` of a grid: its own, or with `includeDescendants` its whole subtree's.
pub fn nested_in_grid(
    filter: Option<IncidentFilter>,
    order_by: Option<Order<IncidentOrderField>>,
    include_descendants: bool,
    page: PageRequest,
) -> ApiResult<super::relay::ChildQuery<incident::Entity>> {
    let select = filter.unwrap_or_default().apply(incident::Entity::find())?;
    let (select, partition) = super::grid::by_grid(
        select,
        (incident::Entity, incident::Column::GridId),
        include_descendants,
    );
    Ok((select, partition, order_spec(order_by), page))
}
