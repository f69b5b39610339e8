//! Enumerations stored in the database. Text values are stable and match the GraphQL names.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Level of a grid in the hierarchy. Stored as an integer so that ordering by level follows the
/// hierarchy (district first), not the alphabet.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "i32", db_type = "Integer")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GridLevel {
    #[sea_orm(num_value = 1)]
    District,
    #[sea_orm(num_value = 2)]
    Street,
    #[sea_orm(num_value = 3)]
    Community,
    #[sea_orm(num_value = 4)]
    Grid,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $(#[sea_orm(string_value = $text)] $variant,)+
        }
    };
}

text_enum!(
    /// Sex of a person, as recorded on the resident ID.
    Gender { Male = "MALE", Female = "FEMALE" }
);
text_enum!(
    /// Care tags of a resident.
    PersonTagKind {
        ElderlyLivingAlone = "ELDERLY_LIVING_ALONE",
        Disabled = "DISABLED",
        KeyCare = "KEY_CARE",
        HealthMonitoring = "HEALTH_MONITORING",
    }
);
text_enum!(
    /// Kind of organisation.
    OrganizationKind {
        Government = "GOVERNMENT",
        VolunteerOrganization = "VOLUNTEER_ORGANIZATION",
        PartnerAgency = "PARTNER_AGENCY",
        CommunityGroup = "COMMUNITY_GROUP",
    }
);
text_enum!(
    /// Role of a person inside an organisation.
    MembershipRole { Member = "MEMBER", Coordinator = "COORDINATOR", Admin = "ADMIN" }
);
text_enum!(
    /// Role of a person responsible for a grid.
    GridWorkerRole {
        GridHead = "GRID_HEAD",
        FullTime = "FULL_TIME",
        PartTime = "PART_TIME",
        Volunteer = "VOLUNTEER",
    }
);
text_enum!(
    /// Category of a public service.
    ServiceCategory {
        EpidemicPrevention = "EPIDEMIC_PREVENTION",
        ElderlyCare = "ELDERLY_CARE",
        Health = "HEALTH",
        Safety = "SAFETY",
        Sanitation = "SANITATION",
        LegalAid = "LEGAL_AID",
        Education = "EDUCATION",
        Other = "OTHER",
    }
);
text_enum!(
    /// Life-cycle state of a service.
    ServiceStatus {
        Draft = "DRAFT",
        Published = "PUBLISHED",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
);
text_enum!(
    /// How a person takes part in a service.
    ParticipationRole { Volunteer = "VOLUNTEER", Staff = "STAFF", Beneficiary = "BENEFICIARY" }
);
text_enum!(
    /// Life-cycle state of a participation.
    ParticipationStatus {
        Registered = "REGISTERED",
        CheckedIn = "CHECKED_IN",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
        NoShow = "NO_SHOW",
    }
);
text_enum!(
    /// What happened to an object, as recorded in the change feed.
    ChangeKind { Created = "CREATED", Updated = "UPDATED", Deleted = "DELETED" }
);
text_enum!(
    /// The types of object that appear in the change feed.
    EntityType {
        Grid = "GRID",
        Person = "PERSON",
        Organization = "ORGANIZATION",
        Service = "SERVICE",
        Participation = "PARTICIPATION",
        Incident = "INCIDENT",
    }
);
text_enum!(
    /// Where an incident stands: REPORTED → ACCEPTED → DISPATCHED → IN_PROGRESS → RESOLVED →
    /// VERIFIED → CLOSED, plus REJECTED, REOPENED and ESCALATED.
    IncidentStatus {
        Reported = "REPORTED",
        Accepted = "ACCEPTED",
        Dispatched = "DISPATCHED",
        InProgress = "IN_PROGRESS",
        Resolved = "RESOLVED",
        Verified = "VERIFIED",
        Closed = "CLOSED",
        Rejected = "REJECTED",
        Reopened = "REOPENED",
        Escalated = "ESCALATED",
    }
);
text_enum!(
    /// How grave an incident is (简易 / 一般 / 突出 / 重大).
    IncidentSeverity {
        Simple = "SIMPLE",
        General = "GENERAL",
        Major = "MAJOR",
        Critical = "CRITICAL",
    }
);
text_enum!(
    /// Through which channel an incident was reported.
    IncidentSource {
        Portal = "PORTAL",
        GridWorker = "GRID_WORKER",
        Hotline = "HOTLINE",
        Open311 = "OPEN311",
        Partner = "PARTNER",
    }
);
text_enum!(
    /// What an entry of an incident's history records.
    IncidentEventKind {
        Reported = "REPORTED",
        Accepted = "ACCEPTED",
        Rejected = "REJECTED",
        Dispatched = "DISPATCHED",
        Started = "STARTED",
        Resolved = "RESOLVED",
        Verified = "VERIFIED",
        Closed = "CLOSED",
        Reopened = "REOPENED",
        Escalated = "ESCALATED",
        Rated = "RATED",
    }
);
