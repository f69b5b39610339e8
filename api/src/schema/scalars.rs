//! Enumerations, ordering and scalars shared by the GraphQL types.

use crate::store::Table;
use crate::store::page::{Direction, OrderSpec};
use async_graphql::{
    Enum, InputObject, InputType, InputValueError, InputValueResult, Scalar, ScalarType, Value,
};
use chrono::NaiveDate;
use sea_orm::EntityTrait;

/// A calendar date (dates of birth, of joining an organisation, of starting as a grid worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time or a time zone: an RFC 3339 `full-date`, `YYYY-MM-DD`
/// (e.g. `1948-05-17`).
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant in UTC.
///
/// Our own wrapper of chrono's `DateTime<Utc>` so that the scalar carries our description and
/// the date-time specification of scalars.graphql.org (async-graphql's built-in one says
/// "Implement the DateTime<Utc> scalar"). Parsing and output are chrono's, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

/// An instant: an RFC 3339 `date-time` with a time-zone offset (`2026-12-02T08:30:00Z` or
/// `2026-12-02T16:30:00+08:00`). Results are always in UTC (`+00:00`).
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://scalars.graphql.org/andimarek/date-time"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .parse::<chrono::DateTime<chrono::Utc>>()
                .map(DateTime)
                .map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

impl From<chrono::DateTime<chrono::Utc>> for DateTime {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        DateTime(t)
    }
}

impl From<DateTime> for chrono::DateTime<chrono::Utc> {
    fn from(t: DateTime) -> Self {
        t.0
    }
}

/// Direction of an `orderBy`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    /// Smallest first: A to Z, earliest first.
    Asc,
    /// Largest first: Z to A, latest first.
    Desc,
}

/// The sortable fields of one type.
pub trait OrderField: InputType + Copy + Send + Sync {
    type Entity: Table;
    /// Ordering used when `orderBy` is not given.
    const DEFAULT: (Self, OrderDirection);
    fn column(self) -> <Self::Entity as EntityTrait>::Column;
    /// Name written into cursors, so that a cursor of one ordering is refused by another.
    fn tag(self) -> &'static str;
}

/// `orderBy` argument: a field and a direction; ties are always broken by id.
#[derive(InputObject, Clone, Copy)]
#[graphql(
    concrete(name = "GridOrder", params(super::grid::GridOrderField)),
    concrete(name = "PersonOrder", params(super::person::PersonOrderField)),
    concrete(
        name = "OrganizationOrder",
        params(super::organization::OrganizationOrderField)
    ),
    concrete(
        name = "MembershipOrder",
        params(super::organization::MembershipOrderField)
    ),
    concrete(name = "ServiceOrder", params(super::service::ServiceOrderField)),
    concrete(
        name = "ParticipationOrder",
        params(super::participation::ParticipationOrderField)
    ),
    concrete(name = "AuditEntryOrder", params(super::audit::AuditEntryOrderField)),
    concrete(name = "PiiAccessOrder", params(super::audit::PiiAccessOrderField)),
    concrete(name = "IncidentOrder", params(super::incident::IncidentOrderField))
)]
pub struct Order<F: OrderField> {
    /// The field to sort by.
    pub field: F,
    /// Ascending or descending.
    pub direction: OrderDirection,
}

/// The order spec for `order`, or the type's default.
pub fn order_spec<F: OrderField>(order: Option<Order<F>>) -> OrderSpec<F::Entity> {
    let (field, direction) = order.map(|o| (o.field, o.direction)).unwrap_or(F::DEFAULT);
    OrderSpec {
        column: field.column(),
        direction: match direction {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        },
        tag: field.tag(),
    }
}

/// Implements [`OrderField`] for a field enum: `Variant => (column, "TAG")`.
macro_rules! order_field {
    ($ty:ident, $entity:path, default = ($dv:ident, $dd:ident), { $($variant:ident => ($col:path, $tag:literal)),+ $(,)? }) => {
        impl $crate::schema::scalars::OrderField for $ty {
            type Entity = $entity;
            const DEFAULT: (Self, $crate::schema::scalars::OrderDirection) =
                ($ty::$dv, $crate::schema::scalars::OrderDirection::$dd);
            fn column(self) -> <$entity as sea_orm::EntityTrait>::Column {
                match self { $($ty::$variant => $col,)+ }
            }
            fn tag(self) -> &'static str {
                match self { $($ty::$variant => $tag,)+ }
            }
        }
    };
}
pub(crate) use order_field;

/// Validates a `search` filter value.
pub fn search_text(s: &str, field: &str) -> crate::error::ApiResult<String> {
    let s = s.trim();
    let max = crate::caps::current().max_search_chars;
    if s.chars().count() > max {
        return Err(crate::error::ApiError::bad_input(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    Ok(s.to_owned())
}

macro_rules! remote_enum {
    ($(#[$m:meta])* $name:ident => $remote:literal { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[graphql(remote = $remote)]
        pub enum $name { $($(#[$vm])* $v,)+ }
    };
}
pub(crate) use remote_enum;

// Variants are listed in the order of the domain (a hierarchy top-down, a lifecycle from start
// to end), not alphabetically.
remote_enum!(
    /// Level of a grid in the administrative hierarchy, from the top down.
    GridLevel => "entity::GridLevel" {
        /// A district (区): the top level, a root of the hierarchy.
        District,
        /// A street or sub-district office (街道), under a district.
        Street,
        /// A residents' community (社区), under a street.
        Community,
        /// A grid (网格): the smallest unit, a few hundred households under a community.
        Grid,
    }
);
remote_enum!(
    /// A resident's gender as recorded on their identity document.
    Gender => "entity::Gender" {
        /// Male.
        Male,
        /// Female.
        Female,
    }
);
remote_enum!(
    /// Care tags of a resident: why grid workers look after them. Personal data: readable by
    /// ADMIN, GRID_MANAGER in its subtrees and VOLUNTEER_ORG for its members.
    PersonTag => "entity::PersonTagKind" {
        /// An elderly person who lives alone (独居老人).
        ElderlyLivingAlone,
        /// A person with a disability.
        Disabled,
        /// A person under key care (重点关爱).
        KeyCare,
        /// A person whose health is monitored regularly.
        HealthMonitoring,
    }
);
remote_enum!(
    /// What kind of body an organisation is.
    OrganizationKind => "entity::OrganizationKind" {
        /// A government office or department.
        Government,
        /// A registered volunteer organisation.
        VolunteerOrganization,
        /// A partner agency (a company or NGO under contract).
        PartnerAgency,
        /// An informal community group.
        CommunityGroup,
    }
);
remote_enum!(
    /// A person's role in an organisation, from least to most rights.
    MembershipRole => "entity::MembershipRole" {
        /// An ordinary member.
        Member,
        /// Coordinates the organisation's volunteers and services.
        Coordinator,
        /// Administers the organisation's data.
        Admin,
    }
);
remote_enum!(
    /// A grid worker's role in the grid they are assigned to.
    GridWorkerRole => "entity::GridWorkerRole" {
        /// The head of the grid (网格长), responsible for it.
        GridHead,
        /// A full-time grid worker (专职网格员).
        FullTime,
        /// A part-time grid worker (兼职网格员).
        PartTime,
        /// A volunteer helping in the grid.
        Volunteer,
    }
);
remote_enum!(
    /// What a service is about.
    ServiceCategory => "entity::ServiceCategory" {
        /// Epidemic prevention: testing, vaccination drives, disinfection.
        EpidemicPrevention,
        /// Care of the elderly: visits, meals, companionship.
        ElderlyCare,
        /// Health: check-ups, consultations, health talks.
        Health,
        /// Safety: fire checks, patrols, anti-fraud campaigns.
        Safety,
        /// Sanitation: clean-ups, waste sorting.
        Sanitation,
        /// Free legal advice.
        LegalAid,
        /// Education: classes, tutoring, training.
        Education,
        /// Anything else.
        Other,
    }
);
remote_enum!(
    /// Lifecycle of a service: DRAFT → PUBLISHED → IN_PROGRESS → COMPLETED, or CANCELLED from
    /// any state before COMPLETED. Changed with `transitionService`.
    ServiceStatus => "entity::ServiceStatus" {
        /// Being prepared: not shown to PUBLIC callers nor to other volunteer organisations.
        Draft,
        /// Announced: open for registration, visible to everyone (PUBLIC included).
        Published,
        /// Taking place now.
        InProgress,
        /// Took place and is over.
        Completed,
        /// Called off; kept for the record.
        Cancelled,
    }
);
remote_enum!(
    /// How a person takes part in a service.
    ParticipationRole => "entity::ParticipationRole" {
        /// Gives their time; their minutes count as volunteer hours.
        Volunteer,
        /// Works at the service as staff of the organiser.
        Staff,
        /// Receives the service.
        Beneficiary,
    }
);
remote_enum!(
    /// Lifecycle of a participation: REGISTERED → CHECKED_IN → COMPLETED, or CANCELLED /
    /// NO_SHOW.
    ParticipationStatus => "entity::ParticipationStatus" {
        /// Registered for the service, not yet arrived.
        Registered,
        /// Checked in at the service (`checkIn`).
        CheckedIn,
        /// Checked out (`checkOut`): took part, minutes credited.
        Completed,
        /// The registration was cancelled (`cancelParticipation`).
        Cancelled,
        /// Registered but did not come (`markNoShow`).
        NoShow,
    }
);
remote_enum!(
    /// What a change did to its object.
    ChangeKind => "entity::ChangeKind" {
        /// The object was created.
        Created,
        /// One or more of its fields changed.
        Updated,
        /// The object was deleted (erased, for a person): `node` is null from now on.
        Deleted,
    }
);
remote_enum!(
    /// The types of object that appear in the change feed and in subscriptions.
    EntityType => "entity::EntityType" {
        /// A `Grid`.
        Grid,
        /// A `Person`.
        Person,
        /// An `Organization`.
        Organization,
        /// A `Service`.
        Service,
        /// A `Participation`.
        Participation,
        /// An `Incident`.
        Incident,
    }
);
