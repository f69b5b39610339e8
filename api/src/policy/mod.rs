//! The privacy policy: for each role and table, which rows are visible; for each personal field,
//! whether it is shown, masked, logged or absent; and what may be filtered, searched or ordered
//! on. Every visibility decision of the API is derived from the two declarations below
//! ([`ROWS`] and [`FIELDS`]):
//!
//! - row conditions of root and nested connections, `node`/`nodes`, loaders, counts, write
//!   locks and the change feed ([`rows`]), and the refusal of tables a role may not read at all;
//! - field disclosure in resolvers, audit snapshots and subscription payloads ([`fields`]);
//! - argument checks: a caller may filter, search or order only by what it sees unmasked
//!   ([`require_plain`]).
//!
//! `docs/security.md` carries [`markdown`]'s rendering of both tables; a test keeps them equal.

pub mod fields;
pub mod rows;

pub use fields::{Field, Show, disclosure, require_plain};
pub use rows::{PUBLISHED, Scoped};

use crate::auth::Role;

/// Which rows of a table a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every row.
    All,
    /// No row; asking returns nothing, exactly as if nothing existed.
    Hidden,
    /// No row, and asking is `FORBIDDEN`: the role receives statistics only.
    Forbidden,
    /// Rows placed in the caller's grid subtrees (by the table's grid anchor).
    InSubtrees,
    /// Rows of the caller's organisation (by the table's organisation anchor).
    OwnOrganization,
    /// Published services (PUBLISHED, IN_PROGRESS, COMPLETED).
    Published,
    /// Published services, or those of the caller's organisation.
    PublishedOrOwn,
    /// Rows the caller reported itself (its person, or its credential).
    OwnReports,
}

impl Rows {
    fn describe(self, table: Table) -> &'static str {
        match (self, table) {
            (Rows::All, _) => "all",
            (Rows::Hidden, _) => "—",
            (Rows::Forbidden, _) => "FORBIDDEN",
            (Rows::InSubtrees, Table::Person) => "home grid in its subtrees",
            (Rows::InSubtrees, Table::Membership | Table::PersonTag) => "people in its subtrees",
            (Rows::InSubtrees, Table::Participation) => "services in its subtrees",
            (Rows::InSubtrees, Table::Grid) => "its subtrees",
            (Rows::InSubtrees, _) => "in its subtrees",
            (Rows::OwnOrganization, Table::Person | Table::PersonTag) => {
                "members of its organisation"
            }
            (Rows::OwnOrganization, Table::Participation) => "registered by it",
            (Rows::OwnOrganization, Table::Incident) => "assigned to or reported by it",
            (Rows::OwnOrganization, _) => "of its organisation",
            (Rows::Published, _) => "published",
            (Rows::PublishedOrOwn, _) => "published, or organised by it",
            (Rows::OwnReports, _) => "reported by it",
        }
    }
}

/// The tables the policy governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Grid,
    Person,
    PersonTag,
    Organization,
    Membership,
    GridAssignment,
    Service,
    Participation,
    AuditLog,
    PiiAccessLog,
    Incident,
    IncidentCategory,
    Responsibility,
}

impl Table {
    pub const ALL: [Table; 13] = [
        Table::Grid,
        Table::Person,
        Table::PersonTag,
        Table::Organization,
        Table::Membership,
        Table::GridAssignment,
        Table::Service,
        Table::Participation,
        Table::AuditLog,
        Table::PiiAccessLog,
        Table::Incident,
        Table::IncidentCategory,
        Table::Responsibility,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Table::Grid => "grids",
            Table::Person => "people",
            Table::PersonTag => "care tags",
            Table::Organization => "organisations",
            Table::Membership => "memberships",
            Table::GridAssignment => "grid workers",
            Table::Service => "services",
            Table::Participation => "participations",
            Table::AuditLog => "audit log",
            Table::PiiAccessLog => "PII access log",
            Table::Incident => "incidents and their history",
            Table::IncidentCategory => "incident categories",
            Table::Responsibility => "responsibility list",
        }
    }
}

/// Roles in the order of the declaration's columns.
pub const ROLES: [Role; 5] = [
    Role::Admin,
    Role::GridManager,
    Role::VolunteerOrg,
    Role::Agency,
    Role::Public,
];

/// Row visibility: `(table, [ADMIN, GRID_MANAGER, VOLUNTEER_ORG, AGENCY, PUBLIC])`.
///
/// AGENCY receives statistics only: people, their tags and memberships, and participations are
/// `FORBIDDEN` to it. Grid workers stay visible to it (grid, role, since) but their `person`
/// is a person, so it is `FORBIDDEN` too.
///
/// Incidents: a resident (a JWT with `person`, role PUBLIC) or a PUBLIC API key sees what it
/// reported; VOLUNTEER_ORG what is assigned to or was reported by its organisation.
pub const ROWS: [(Table, [Rows; 5]); 13] = {
    use Rows::*;
    [
        (Table::Grid, [All, InSubtrees, All, All, All]),
        (
            Table::Person,
            [All, InSubtrees, OwnOrganization, Forbidden, Hidden],
        ),
        (
            Table::PersonTag,
            [All, InSubtrees, OwnOrganization, Forbidden, Hidden],
        ),
        (Table::Organization, [All, All, All, All, Hidden]),
        (
            Table::Membership,
            [All, InSubtrees, OwnOrganization, Forbidden, Hidden],
        ),
        (
            Table::GridAssignment,
            [All, InSubtrees, Hidden, All, Hidden],
        ),
        (
            Table::Service,
            [All, InSubtrees, PublishedOrOwn, All, Published],
        ),
        (
            Table::Participation,
            [All, InSubtrees, OwnOrganization, Forbidden, Hidden],
        ),
        (Table::AuditLog, [All, Hidden, Hidden, Forbidden, Hidden]),
        (
            Table::PiiAccessLog,
            [All, Hidden, Hidden, Forbidden, Hidden],
        ),
        (
            Table::Incident,
            [All, InSubtrees, OwnOrganization, Forbidden, OwnReports],
        ),
        (Table::IncidentCategory, [All, All, All, All, All]),
        (
            Table::Responsibility,
            [All, InSubtrees, Hidden, Hidden, Hidden],
        ),
    ]
};

fn role_index(role: Role) -> usize {
    match role {
        Role::Admin => 0,
        Role::GridManager => 1,
        Role::VolunteerOrg => 2,
        Role::Agency => 3,
        Role::Public => 4,
    }
}

/// The row rule of `table` for `role`.
pub fn rows_of(table: Table, role: Role) -> Rows {
    ROWS.iter()
        .find(|(t, _)| *t == table)
        .map_or(Rows::Hidden, |(_, rules)| rules[role_index(role)])
}

/// Personal fields: `(field, [ADMIN, GRID_MANAGER, VOLUNTEER_ORG, AGENCY, PUBLIC])`, each cell
/// giving what a caller without and with `pii:read` gets.
pub const FIELDS: [(Field, [fields::Cell; 5]); 12] = {
    use fields::Cell;
    use fields::Show::*;
    const fn c(without: Show, with: Show) -> Cell {
        Cell { without, with }
    }
    const ABSENT: Cell = c(Absent, Absent);
    const PLAIN: Cell = c(Plain, Plain);
    [
        (Field::PersonName, [PLAIN, PLAIN, PLAIN, ABSENT, ABSENT]),
        (
            Field::PersonPhone,
            [
                c(Masked, Logged),
                c(Masked, Logged),
                c(Masked, Masked),
                ABSENT,
                ABSENT,
            ],
        ),
        (
            Field::PersonIdNumber,
            [
                c(Masked, Logged),
                c(Masked, Logged),
                c(Masked, Masked),
                ABSENT,
                ABSENT,
            ],
        ),
        (
            Field::PersonBirthDate,
            [c(Absent, Logged), c(Absent, Logged), ABSENT, ABSENT, ABSENT],
        ),
        (Field::PersonAddress, [PLAIN, PLAIN, PLAIN, ABSENT, ABSENT]),
        (Field::PersonGender, [PLAIN, PLAIN, PLAIN, ABSENT, ABSENT]),
        (Field::PersonAgeBand, [PLAIN, PLAIN, PLAIN, ABSENT, ABSENT]),
        (
            Field::OrganizationContactName,
            [PLAIN, PLAIN, c(OwnOnly, OwnOnly), ABSENT, ABSENT],
        ),
        (
            Field::OrganizationContactPhone,
            [
                c(Masked, Logged),
                c(Masked, Masked),
                c(OwnMasked, OwnMasked),
                ABSENT,
                ABSENT,
            ],
        ),
        (
            Field::OrganizationContactEmail,
            [PLAIN, PLAIN, c(OwnOnly, OwnOnly), ABSENT, ABSENT],
        ),
        (
            Field::IncidentContactName,
            [PLAIN, PLAIN, PLAIN, ABSENT, ABSENT],
        ),
        (
            Field::IncidentContactPhone,
            [
                c(Masked, Logged),
                c(Masked, Logged),
                c(Masked, Logged),
                ABSENT,
                ABSENT,
            ],
        ),
    ]
};

/// What a role gets of statistics (`stats`, `Grid.stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistics {
    /// Exact figures.
    Exact,
    /// Counts of people and participations perturbed (cell-key method, `docs/statistics.md`).
    Perturbed,
    /// `FORBIDDEN`.
    Refused,
}

/// Statistics per role: `[ADMIN, GRID_MANAGER, VOLUNTEER_ORG, AGENCY, PUBLIC]` (GRID_MANAGER
/// over its subtrees only, since the root grid must be visible).
pub const STATISTICS: [Statistics; 5] = [
    Statistics::Exact,
    Statistics::Exact,
    Statistics::Refused,
    Statistics::Perturbed,
    Statistics::Refused,
];

/// What `caller` gets of statistics; `FORBIDDEN` for roles that get none.
pub fn statistics(caller: &crate::auth::Caller) -> crate::error::ApiResult<Statistics> {
    match STATISTICS[role_index(caller.role)] {
        Statistics::Refused => Err(crate::error::ApiError::Forbidden(format!(
            "the {} role cannot read statistics",
            caller.role
        ))),
        s => Ok(s),
    }
}

/// The policy as the two Markdown tables of `docs/security.md`.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("| rows | ADMIN | GRID_MANAGER | VOLUNTEER_ORG | AGENCY | PUBLIC |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (table, rules) in ROWS {
        out.push_str(&format!("| {} |", table.label()));
        for r in rules {
            out.push_str(&format!(" {} |", r.describe(table)));
        }
        out.push('\n');
    }
    out.push_str("| statistics |");
    for s in STATISTICS {
        out.push_str(match s {
            Statistics::Exact => " exact |",
            Statistics::Perturbed => " counts of people perturbed |",
            Statistics::Refused => " FORBIDDEN |",
        });
    }
    out.push('\n');
    out.push('\n');
    out.push_str(
        "| field (without `pii:read` / with it) | ADMIN | GRID_MANAGER | VOLUNTEER_ORG | AGENCY | PUBLIC |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    for (field, cells) in FIELDS {
        out.push_str(&format!("| `{}` |", field.label()));
        for cell in cells {
            out.push_str(&format!(" {} |", cell.describe()));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_one_rule() {
        for t in Table::ALL {
            assert_eq!(ROWS.iter().filter(|(x, _)| *x == t).count(), 1, "{t:?}");
        }
    }

    #[test]
    fn agency_reads_no_personal_rows_or_fields() {
        for t in [
            Table::Person,
            Table::PersonTag,
            Table::Membership,
            Table::Participation,
        ] {
            assert_eq!(rows_of(t, Role::Agency), Rows::Forbidden, "{t:?}");
        }
        for (field, cells) in FIELDS {
            let agency = cells[role_index(Role::Agency)];
            assert_eq!(agency.without, Show::Absent, "{field:?}");
            assert_eq!(agency.with, Show::Absent, "{field:?}");
        }
    }

    #[test]
    fn masked_id_numbers_are_never_shown_beside_birth_dates() {
        // The hidden digits of a masked ID number are the birth date: whoever gets the mask must
        // not get the date.
        let cells = |f: Field| FIELDS.iter().find(|(x, _)| *x == f).map(|(_, c)| *c);
        let (Some(id), Some(born)) = (cells(Field::PersonIdNumber), cells(Field::PersonBirthDate))
        else {
            panic!("fields missing from the declaration");
        };
        for (i, (id, born)) in id.iter().zip(born.iter()).enumerate() {
            for (id, born) in [(id.without, born.without), (id.with, born.with)] {
                if id == Show::Masked {
                    assert_eq!(born, Show::Absent, "role {:?}", ROLES[i]);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod docs {
    /// `docs/security.md` holds the policy tables exactly as the declaration renders them
    /// (between the `policy:begin` and `policy:end` markers). `GRIDGOV_WRITE_DOCS=1` rewrites
    /// them.
    #[test]
    fn security_doc_carries_the_declared_policy() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/security.md");
        let doc = std::fs::read_to_string(path).expect("docs/security.md");
        let (begin, end) = ("<!-- policy:begin -->\n", "<!-- policy:end -->");
        let start = doc.find(begin).expect("policy:begin marker") + begin.len();
        let stop = doc.find(end).expect("policy:end marker");
        let rendered = super::markdown();
        if std::env::var("GRIDGOV_WRITE_DOCS").is_ok() {
            let new = format!("{}{rendered}{}", &doc[..start], &doc[stop..]);
            std::fs::write(path, new).expect("write docs/security.md");
            return;
        }
        assert_eq!(
            &doc[start..stop],
            rendered,
            "docs/security.md is out of date: run `GRIDGOV_WRITE_DOCS=1 cargo test -p gridgov policy::docs`"
        );
    }
}
