//! Field disclosure: what a caller gets of each personal field, and which arguments it may use.

use super::{FIELDS, role_index};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// A personal field of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    PersonName,
    PersonPhone,
    PersonIdNumber,
    PersonBirthDate,
    PersonAddress,
    PersonGender,
    PersonAgeBand,
    OrganizationContactName,
    OrganizationContactPhone,
    OrganizationContactEmail,
    IncidentContactName,
    IncidentContactPhone,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::PersonName => "Person.name",
            Field::PersonPhone => "Person.phone",
            Field::PersonIdNumber => "Person.idNumber",
            Field::PersonBirthDate => "Person.birthDate",
            Field::PersonAddress => "Person.address",
            Field::PersonGender => "Person.gender",
            Field::PersonAgeBand => "Person.ageBand",
            Field::OrganizationContactName => "Organization.contactName",
            Field::OrganizationContactPhone => "Organization.contactPhone",
            Field::OrganizationContactEmail => "Organization.contactEmail",
            Field::IncidentContactName => "Incident.contactName",
            Field::IncidentContactPhone => "Incident.contactPhone",
        }
    }

    /// The name written to the PII access log for an unmasked read.
    pub fn log_name(self) -> &'static str {
        match self {
            Field::PersonName => "name",
            Field::PersonPhone => "phone",
            Field::PersonIdNumber => "idNumber",
            Field::PersonBirthDate => "birthDate",
            Field::PersonAddress => "address",
            Field::PersonGender => "gender",
            Field::PersonAgeBand => "ageBand",
            Field::OrganizationContactName => "contactName",
            Field::OrganizationContactPhone => "contactPhone",
            Field::OrganizationContactEmail => "contactEmail",
            Field::IncidentContactName => "contactName",
            Field::IncidentContactPhone => "contactPhone",
        }
    }
}

/// How a field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// As stored.
    Plain,
    /// As stored, and written to the PII access log.
    Logged,
    /// Masked (`138****5678`, `370685********1234`).
    Masked,
    /// Null.
    Absent,
    /// As stored for the caller's own organisation, else null.
    OwnOnly,
    /// Masked for the caller's own organisation, else null.
    OwnMasked,
}

impl Show {
    fn describe(self) -> &'static str {
        match self {
            Show::Plain => "shown",
            Show::Logged => "shown, logged",
            Show::Masked => "masked",
            Show::Absent => "null",
            Show::OwnOnly => "own organisation only",
            Show::OwnMasked => "own organisation only, masked",
        }
    }

    /// What this rule gives for a row that is (`own`) or is not the caller's own.
    fn for_row(self, own: bool) -> Show {
        match (self, own) {
            (Show::OwnOnly, true) => Show::Plain,
            (Show::OwnMasked, true) => Show::Masked,
            (Show::OwnOnly | Show::OwnMasked, false) => Show::Absent,
            (s, _) => s,
        }
    }
}

/// What a caller without and with `pii:read` gets of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub without: Show,
    pub with: Show,
}

impl Cell {
    pub(super) fn describe(self) -> String {
        if self.without == self.with {
            self.without.describe().to_owned()
        } else {
            format!("{} / {}", self.without.describe(), self.with.describe())
        }
    }
}

/// How `field` of a row is shown to `caller`; `own` tells whether the row belongs to the
/// caller's own organisation (only organisation contacts depend on it).
pub fn disclosure(caller: &Caller, field: Field, own: bool) -> Show {
    let Some((_, cells)) = FIELDS.iter().find(|(f, _)| *f == field) else {
        return Show::Absent;
    };
    let cell = cells[role_index(caller.role)];
    let show = if caller.has_scope(crate::auth::PII_READ) {
        cell.with
    } else {
        cell.without
    };
    show.for_row(own)
}

/// Refuses a filter, search or ordering on `field` unless the caller sees it unmasked:
/// otherwise the results would reveal what the mask hides. `argument` names the argument.
pub fn require_plain(caller: &Caller, field: Field, argument: &str) -> ApiResult<()> {
    match disclosure(caller, field, false) {
        Show::Plain | Show::Logged => Ok(()),
        _ => Err(ApiError::bad_input(
            argument,
            format!(
                "`{argument}` uses `{}`, which the {} role does not see unmasked",
                field.label(),
                caller.role
            ),
        )),
    }
}

/// A display mask of a personal value.
pub type Mask = fn(&str) -> String;

/// How audit snapshots (readable by ADMIN with or without `pii:read`) carry personal fields:
/// as a caller without `pii:read` sees them — phone and ID numbers masked, a birth date reduced
/// to its year — keyed by the JSON name of the stored column.
pub const SNAPSHOT_MASKS: [(&str, Mask); 4] = [
    ("phone", crate::validate::mask_phone),
    ("idNumber", crate::validate::mask_id_number),
    ("contactPhone", crate::validate::mask_phone),
    ("birthDate", crate::validate::mask_birth_date),
];
