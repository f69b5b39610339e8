//! Enumerations, ordering and scalars shared by the GraphQL types.

use crate::store::Table;
use crate::store::page::{Direction, OrderSpec};
use async_graphql::{
    Enum, InputObject, InputType, InputValueError, InputValueResult, Scalar, ScalarType, Value,
};
use chrono::NaiveDate;
use sea_orm::EntityTrait;

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
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

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    Asc,
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
    concrete(name = "PiiAccessOrder", params(super::audit::PiiAccessOrderField))
)]
pub struct Order<F: OrderField> {
    pub field: F,
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

/// Longest `search` string accepted by filters.
pub const MAX_SEARCH_LEN: usize = 100;

/// Validates a `search` filter value.
pub fn search_text(s: &str, field: &str) -> crate::error::ApiResult<String> {
    let s = s.trim();
    if s.chars().count() > MAX_SEARCH_LEN {
        return Err(crate::error::ApiError::bad_input(
            field,
            format!("`{field}` must be at most {MAX_SEARCH_LEN} characters"),
        ));
    }
    Ok(s.to_owned())
}

macro_rules! remote_enum {
    ($(#[$m:meta])* $name:ident => $remote:literal { $($v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, serde::Serialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[graphql(remote = $remote)]
        pub enum $name { $($v,)+ }
    };
}

remote_enum!(
    /// Level of a grid in the administrative hierarchy.
    GridLevel => "entity::GridLevel" { District, Street, Community, Grid }
);
remote_enum!(Gender => "entity::Gender" { Male, Female });
remote_enum!(
    /// Care tags of a resident.
    PersonTag => "entity::PersonTagKind" { ElderlyLivingAlone, Disabled, KeyCare, HealthMonitoring }
);
remote_enum!(OrganizationKind => "entity::OrganizationKind" { Government, VolunteerOrganization, PartnerAgency, CommunityGroup });
remote_enum!(MembershipRole => "entity::MembershipRole" { Member, Coordinator, Admin });
remote_enum!(GridWorkerRole => "entity::GridWorkerRole" { GridHead, FullTime, PartTime, Volunteer });
remote_enum!(ServiceCategory => "entity::ServiceCategory" {
    EpidemicPrevention, ElderlyCare, Health, Safety, Sanitation, LegalAid, Education, Other
});
remote_enum!(
    /// DRAFT → PUBLISHED → IN_PROGRESS → COMPLETED, or CANCELLED.
    ServiceStatus => "entity::ServiceStatus" { Draft, Published, InProgress, Completed, Cancelled }
);
remote_enum!(ParticipationRole => "entity::ParticipationRole" { Volunteer, Staff, Beneficiary });
remote_enum!(
    /// REGISTERED → CHECKED_IN → COMPLETED, or CANCELLED / NO_SHOW.
    ParticipationStatus => "entity::ParticipationStatus" { Registered, CheckedIn, Completed, Cancelled, NoShow }
);
remote_enum!(
    /// What a change did to its object.
    ChangeKind => "entity::ChangeKind" { Created, Updated, Deleted }
);
remote_enum!(
    /// The types of object that appear in the change feed and in subscriptions.
    EntityType => "entity::EntityType" { Grid, Person, Organization, Service, Participation }
);
