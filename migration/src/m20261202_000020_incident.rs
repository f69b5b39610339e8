//! Incidents (事件): categories with their deadlines, the incidents themselves, their history
//! (one row per transition or note, never rewritten) and the responsibility list (权责清单:
//! grid subtree × category → the organisation or grid worker who handles it).
//!
//! `incident.record_key` is drawn by the database, like the record keys of people and
//! participations (migration 000012), for the cell-key perturbation of incident counts shown to
//! agencies; the entity does not map it.

use crate::common::*;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::sea_orm::prelude::{ChronoUtc, Uuid};

/// `(code, name, parent code, default severity, hours to accept, hours to close, public)`.
type Category = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    i32,
    i32,
    bool,
);

/// The standard taxonomy every deployment starts with, modelled on a street's grid platform:
/// `(code, name, parent code, default severity, hours to accept, hours to close, listed
/// publicly over Open311)`. Ids are fixed so that the categories are the same everywhere.
const TAXONOMY: [Category; 22] = [
    ("CITY", "城市管理", None, "GENERAL", 24, 168, true),
    (
        "CITY_STREETLIGHT",
        "路灯损坏",
        Some("CITY"),
        "SIMPLE",
        12,
        72,
        true,
    ),
    (
        "CITY_ROAD",
        "道路破损",
        Some("CITY"),
        "GENERAL",
        24,
        168,
        true,
    ),
    (
        "CITY_PARKING",
        "违章停车",
        Some("CITY"),
        "SIMPLE",
        4,
        24,
        true,
    ),
    (
        "CITY_FIRE_LANE",
        "消防通道堵塞",
        Some("CITY"),
        "MAJOR",
        2,
        24,
        true,
    ),
    ("DISPUTE", "矛盾纠纷", None, "GENERAL", 24, 240, false),
    (
        "DISPUTE_NEIGHBOUR",
        "邻里纠纷",
        Some("DISPUTE"),
        "GENERAL",
        24,
        240,
        false,
    ),
    (
        "DISPUTE_PROPERTY",
        "物业纠纷",
        Some("DISPUTE"),
        "GENERAL",
        48,
        360,
        false,
    ),
    (
        "DISPUTE_FAMILY",
        "家庭纠纷",
        Some("DISPUTE"),
        "GENERAL",
        24,
        240,
        false,
    ),
    ("SAFETY", "安全隐患", None, "MAJOR", 4, 48, true),
    (
        "SAFETY_FIRE",
        "消防隐患",
        Some("SAFETY"),
        "MAJOR",
        2,
        24,
        true,
    ),
    (
        "SAFETY_BUILDING",
        "房屋安全",
        Some("SAFETY"),
        "CRITICAL",
        2,
        72,
        true,
    ),
    (
        "SAFETY_GAS",
        "燃气安全",
        Some("SAFETY"),
        "CRITICAL",
        1,
        24,
        true,
    ),
    ("LIVELIHOOD", "民生服务", None, "GENERAL", 24, 168, false),
    (
        "LIVELIHOOD_ELDERLY",
        "独居老人异常",
        Some("LIVELIHOOD"),
        "MAJOR",
        1,
        12,
        false,
    ),
    (
        "LIVELIHOOD_UTILITIES",
        "停水停电",
        Some("LIVELIHOOD"),
        "GENERAL",
        4,
        48,
        true,
    ),
    ("SANITATION", "环境卫生", None, "SIMPLE", 24, 72, true),
    (
        "SANITATION_WASTE",
        "垃圾堆放",
        Some("SANITATION"),
        "SIMPLE",
        12,
        48,
        true,
    ),
    (
        "SANITATION_NOISE",
        "噪音扰民",
        Some("SANITATION"),
        "GENERAL",
        12,
        72,
        true,
    ),
    ("EPIDEMIC", "疫情防控", None, "MAJOR", 2, 24, false),
    (
        "EPIDEMIC_LEAD",
        "疫情线索",
        Some("EPIDEMIC"),
        "MAJOR",
        1,
        24,
        false,
    ),
    (
        "EPIDEMIC_QUARANTINE",
        "居家隔离服务",
        Some("EPIDEMIC"),
        "GENERAL",
        4,
        72,
        false,
    ),
];

/// The fixed id of the `i`-th category of [`TAXONOMY`].
fn category_id(i: usize) -> Uuid {
    Uuid::from_u128(0x0193_8a00_0000_7000_8000_0000_0000_0000 | (i as u128 + 1))
}

/// Makes `incident_event` append-only in the database itself: an UPDATE or DELETE of a history
/// row is refused whoever runs it (the API never issues one).
async fn append_only(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER incident_event_no_{} BEFORE {op} ON incident_event \
                     BEGIN SELECT RAISE(ABORT, 'incident history is append-only'); END",
                    op.to_lowercase()
                ))
                .await?;
            }
        }
        _ => {
            db.execute_unprepared(
                "CREATE FUNCTION incident_event_append_only() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'incident history is append-only'; END $$",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER incident_event_append_only BEFORE UPDATE OR DELETE ON incident_event \
                 FOR EACH ROW EXECUTE FUNCTION incident_event_append_only()",
            )
            .await?;
        }
    }
    Ok(())
}

async fn insert_taxonomy(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let now = ChronoUtc::now();
    for (i, (code, name, parent, severity, accept, close, public)) in TAXONOMY.iter().enumerate() {
        let parent_id =
            parent.and_then(|p| TAXONOMY.iter().position(|t| t.0 == p).map(category_id));
        let insert = Query::insert()
            .into_table(Alias::new("incident_category"))
            .columns([
                Alias::new("id"),
                Alias::new("code"),
                Alias::new("name"),
                Alias::new("parent_id"),
                Alias::new("default_severity"),
                Alias::new("accept_hours"),
                Alias::new("close_hours"),
                Alias::new("publicly_listed"),
                Alias::new("created_at"),
                Alias::new("updated_at"),
                Alias::new("version"),
            ])
            .values_panic([
                category_id(i).into(),
                (*code).into(),
                (*name).into(),
                parent_id.into(),
                (*severity).into(),
                (*accept).into(),
                (*close).into(),
                (*public).into(),
                now.into(),
                now.into(),
                1.into(),
            ])
            .to_owned();
        manager.exec_stmt(insert).await?;
    }
    Ok(())
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let category = with_audit_columns(
            table("incident_category")
                .col(col("code").string_len(32).not_null())
                .col(col("name").string_len(100).not_null())
                .col(col("description").text().null())
                .col(col("parent_id").uuid().null())
                .col(col("default_severity").string_len(32).not_null())
                .col(col("accept_hours").integer().not_null())
                .col(col("close_hours").integer().not_null())
                .col(col("publicly_listed").boolean().not_null())
                .foreign_key(&mut fk(
                    "incident_category",
                    "parent_id",
                    "incident_category",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(category).await?;
        insert_taxonomy(manager).await?;

        let record_key = match manager.get_database_backend() {
            DbBackend::Sqlite => "(random() & 255)",
            _ => "(floor(random() * 256)::integer)",
        };
        let incident = with_audit_columns(
            table("incident")
                .col(col("grid_id").uuid().not_null())
                .col(col("handling_grid_id").uuid().not_null())
                .col(col("category_id").uuid().not_null())
                .col(col("title").string_len(200).not_null())
                .col(col("description").text().null())
                .col(col("latitude").double().null())
                .col(col("longitude").double().null())
                .col(col("address").string_len(300).null())
                .col(col("severity").string_len(32).not_null())
                .col(col("source").string_len(32).not_null())
                .col(col("status").string_len(32).not_null())
                .col(col("reporter_person_id").uuid().null())
                .col(col("reporter_organization_id").uuid().null())
                .col(col("reporter_credential").string_len(256).not_null())
                .col(col("contact_name").string_len(100).null())
                .col(col("contact_phone").string_len(32).null())
                .col(col("assignee_person_id").uuid().null())
                .col(col("assignee_organization_id").uuid().null())
                .col(col("accepted_at").timestamp_with_time_zone().null())
                .col(col("accept_due_at").timestamp_with_time_zone().not_null())
                .col(col("due_at").timestamp_with_time_zone().not_null())
                .col(col("resolved_at").timestamp_with_time_zone().null())
                .col(col("closed_at").timestamp_with_time_zone().null())
                .col(col("satisfaction").integer().null())
                .col(col("escalations").integer().not_null().default(0))
                .col(
                    col("record_key")
                        .integer()
                        .not_null()
                        .default(Expr::cust(record_key)),
                )
                .foreign_key(&mut fk(
                    "incident",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "incident",
                    "handling_grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "incident",
                    "category_id",
                    "incident_category",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(incident).await?;

        let event = with_audit_columns(
            table("incident_event")
                .col(col("incident_id").uuid().not_null())
                .col(col("position").integer().not_null())
                .col(col("kind").string_len(32).not_null())
                .col(col("from_status").string_len(32).null())
                .col(col("to_status").string_len(32).null())
                .col(col("actor").string_len(256).not_null())
                .col(col("comment").text().null())
                .col(col("details").text().null())
                .foreign_key(&mut fk(
                    "incident_event",
                    "incident_id",
                    "incident",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(event).await?;
        append_only(manager).await?;

        let responsibility = with_audit_columns(
            table("responsibility")
                .col(col("grid_id").uuid().not_null())
                .col(col("category_id").uuid().not_null())
                .col(col("organization_id").uuid().null())
                .col(col("person_id").uuid().null())
                .col(col("note").string_len(300).null())
                .foreign_key(&mut fk(
                    "responsibility",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "responsibility",
                    "category_id",
                    "incident_category",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(responsibility).await?;

        create_indexes(
            manager,
            vec![
                index("incident_category", &["code"], true),
                index("incident_category", &["parent_id"], false),
                index("incident", &["grid_id", "created_at", "id"], false),
                index("incident", &["handling_grid_id"], false),
                index("incident", &["created_at", "id"], false),
                index("incident", &["due_at", "id"], false),
                index("incident", &["status"], false),
                index("incident", &["category_id"], false),
                index("incident", &["assignee_organization_id"], false),
                index("incident", &["assignee_person_id"], false),
                index("incident", &["reporter_person_id"], false),
                index("incident", &["reporter_organization_id"], false),
                index("incident", &["reporter_credential"], false),
                index("incident_event", &["incident_id", "position"], true),
                index("responsibility", &["grid_id", "category_id"], true),
                index("responsibility", &["category_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its triggers; the function stays behind on PostgreSQL.
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP TRIGGER IF EXISTS incident_event_append_only ON incident_event",
                )
                .await?;
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS incident_event_append_only()")
                .await?;
        }
        for t in ["responsibility", "incident_event", "incident"] {
            drop_table(manager, t).await?;
        }
        // SQLite's DROP TABLE deletes the rows first and checks the self-reference of
        // subcategories row by row: remove the children before their parents.
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM incident_category WHERE parent_id IS NOT NULL")
            .await?;
        drop_table(manager, "incident_category").await
    }
}
