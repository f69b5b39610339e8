//! A small hand-made data set whose every figure the tests know.
//!
//! District → Street → communities C1, C2 → grids G11, G12 (in C1) and G21 (in C2); twelve
//! residents, three organisations, five services and eight participations.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entity::*;
use gridgov::schema::relay::global_id;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel};
use std::collections::HashMap;
use uuid::Uuid;

pub struct Fixture {
    pub grids: HashMap<&'static str, Uuid>,
    pub people: HashMap<&'static str, Uuid>,
    pub orgs: HashMap<&'static str, Uuid>,
    pub services: HashMap<&'static str, Uuid>,
    pub participations: Vec<Uuid>,
    pub memberships: Vec<Uuid>,
    pub assignments: Vec<Uuid>,
}

impl Fixture {
    pub fn grid(&self, key: &str) -> String {
        global_id("Grid", self.grids[key]).0
    }
    pub fn person(&self, key: &str) -> String {
        global_id("Person", self.people[key]).0
    }
    pub fn org(&self, key: &str) -> String {
        global_id("Organization", self.orgs[key]).0
    }
    pub fn service(&self, key: &str) -> String {
        global_id("Service", self.services[key]).0
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

async fn insert<A: ActiveModelTrait + Send>(db: &DatabaseConnection, model: A)
where
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    A::Entity::insert(model.reset_all())
        .exec(db)
        .await
        .expect("insert fixture row");
}

/// People: (key, grid, gender, tags). Residents 2 and 3 share `created_at` to exercise ties.
pub const PEOPLE: &[(&str, &str, Gender, &[PersonTagKind])] = &[
    (
        "zhang_wei",
        "G11",
        Gender::Male,
        &[PersonTagKind::ElderlyLivingAlone],
    ),
    ("wang_fang", "G11", Gender::Female, &[]),
    (
        "li_na",
        "G11",
        Gender::Female,
        &[PersonTagKind::Disabled, PersonTagKind::KeyCare],
    ),
    ("liu_yang", "G11", Gender::Male, &[]),
    (
        "chen_jing",
        "G12",
        Gender::Female,
        &[PersonTagKind::KeyCare],
    ),
    ("yang_lei", "G12", Gender::Male, &[]),
    (
        "zhao_min",
        "G12",
        Gender::Female,
        &[PersonTagKind::ElderlyLivingAlone],
    ),
    ("huang_qiang", "G21", Gender::Male, &[]),
    (
        "zhou_jie",
        "G21",
        Gender::Male,
        &[PersonTagKind::HealthMonitoring],
    ),
    ("wu_ting", "G21", Gender::Female, &[]),
    ("xu_ming", "G21", Gender::Male, &[PersonTagKind::KeyCare]),
    ("sun_li", "G21", Gender::Female, &[]),
];

pub const NAMES: &[(&str, &str)] = &[
    ("zhang_wei", "张伟"),
    ("wang_fang", "王芳"),
    ("li_na", "李娜"),
    ("liu_yang", "刘洋"),
    ("chen_jing", "陈静"),
    ("yang_lei", "杨磊"),
    ("zhao_min", "赵敏"),
    ("huang_qiang", "黄强"),
    ("zhou_jie", "周杰"),
    ("wu_ting", "吴婷"),
    ("xu_ming", "徐明"),
    ("sun_li", "孙丽"),
];

/// Services: (key, grid, organizer, title, category, status, month of start, capacity).
/// (key, grid, organizer, title, category, status, month of start, capacity)
type ServiceRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    ServiceCategory,
    ServiceStatus,
    u32,
    Option<i32>,
);

pub const SERVICES: &[ServiceRow] = &[
    (
        "s1",
        "G11",
        "gov",
        "核酸检测筛查",
        ServiceCategory::EpidemicPrevention,
        ServiceStatus::Completed,
        3,
        Some(50),
    ),
    (
        "s2",
        "G11",
        "vol",
        "独居老人探访",
        ServiceCategory::ElderlyCare,
        ServiceStatus::Published,
        6,
        Some(10),
    ),
    (
        "s3",
        "G12",
        "vol",
        "法律援助咨询",
        ServiceCategory::LegalAid,
        ServiceStatus::InProgress,
        5,
        None,
    ),
    (
        "s4",
        "G21",
        "gov",
        "社区环境清洁",
        ServiceCategory::Sanitation,
        ServiceStatus::Draft,
        7,
        None,
    ),
    (
        "s5",
        "G21",
        "agency",
        "健康义诊",
        ServiceCategory::Health,
        ServiceStatus::Cancelled,
        4,
        Some(30),
    ),
];

/// Participations: (service, person, registering organisation, role, status, minutes).
/// (service, person, registering organisation, role, status, minutes)
type ParticipationRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    ParticipationRole,
    ParticipationStatus,
    Option<i32>,
);

pub const PARTICIPATIONS: &[ParticipationRow] = &[
    (
        "s1",
        "wang_fang",
        Some("vol"),
        ParticipationRole::Volunteer,
        ParticipationStatus::Completed,
        Some(120),
    ),
    (
        "s1",
        "liu_yang",
        Some("vol"),
        ParticipationRole::Volunteer,
        ParticipationStatus::Completed,
        Some(90),
    ),
    (
        "s1",
        "zhang_wei",
        None,
        ParticipationRole::Beneficiary,
        ParticipationStatus::Completed,
        Some(30),
    ),
    (
        "s1",
        "li_na",
        None,
        ParticipationRole::Beneficiary,
        ParticipationStatus::NoShow,
        None,
    ),
    (
        "s2",
        "yang_lei",
        Some("vol"),
        ParticipationRole::Volunteer,
        ParticipationStatus::Registered,
        None,
    ),
    (
        "s2",
        "zhao_min",
        None,
        ParticipationRole::Beneficiary,
        ParticipationStatus::Registered,
        None,
    ),
    (
        "s2",
        "wang_fang",
        Some("vol"),
        ParticipationRole::Volunteer,
        ParticipationStatus::Cancelled,
        None,
    ),
    (
        "s3",
        "wu_ting",
        Some("vol"),
        ParticipationRole::Volunteer,
        ParticipationStatus::CheckedIn,
        None,
    ),
];

pub async fn load(db: &DatabaseConnection) -> Fixture {
    let t0 = t0();
    let mut f = Fixture {
        grids: HashMap::new(),
        people: HashMap::new(),
        orgs: HashMap::new(),
        services: HashMap::new(),
        participations: Vec::new(),
        memberships: Vec::new(),
        assignments: Vec::new(),
    };
    let grids: &[(&str, Option<&str>, &str, &str, GridLevel)] = &[
        ("D", None, "370685", "招远市", GridLevel::District),
        ("S", Some("D"), "370685001", "泉山街道", GridLevel::Street),
        (
            "C1",
            Some("S"),
            "370685001001",
            "金晖社区",
            GridLevel::Community,
        ),
        (
            "C2",
            Some("S"),
            "370685001002",
            "文化社区",
            GridLevel::Community,
        ),
        (
            "G11",
            Some("C1"),
            "370685001001-01",
            "金晖社区第一网格",
            GridLevel::Grid,
        ),
        (
            "G12",
            Some("C1"),
            "370685001001-02",
            "金晖社区第二网格",
            GridLevel::Grid,
        ),
        (
            "G21",
            Some("C2"),
            "370685001002-01",
            "文化社区第一网格",
            GridLevel::Grid,
        ),
    ];
    let mut paths: HashMap<&str, String> = HashMap::new();
    for (i, (key, parent, code, name, level)) in grids.iter().enumerate() {
        let id = Uuid::now_v7();
        let parent_path = parent
            .map(|p| paths[p].clone())
            .unwrap_or_else(|| "/".to_owned());
        let path = format!("{parent_path}{id}/");
        let at = t0 + Duration::minutes(i as i64);
        insert(
            db,
            grid::Model {
                id,
                code: (*code).to_owned(),
                name: (*name).to_owned(),
                level: *level,
                parent_id: parent.map(|p| f.grids[p]),
                path: path.clone(),
                boundary: (*key == "G11").then(|| r#"{"type":"Polygon","coordinates":[[[120.4,37.3],[120.5,37.3],[120.5,37.4],[120.4,37.3]]]}"#.to_owned()),
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        paths.insert(key, path);
        f.grids.insert(key, id);
    }
    for (i, (key, grid_key, gender, tags)) in PEOPLE.iter().enumerate() {
        let id = Uuid::now_v7();
        let minutes = if i == 3 { 2 } else { i as i64 };
        let at = t0 + Duration::hours(1) + Duration::minutes(minutes);
        let name = NAMES
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .expect("name");
        insert(
            db,
            person::Model {
                id,
                name: name.to_owned(),
                gender: Some(*gender),
                birth_date: NaiveDate::from_ymd_opt(1950 + i as i32 * 5, 1 + i as u32 % 12, 10),
                phone: Some(format!("138{:08}", 10_000_000 + i)),
                id_number: None,
                grid_id: f.grids[grid_key],
                address: Some(format!("泉山街道{}号楼", i + 1)),
                erased_at: None,
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        for tag in *tags {
            insert(
                db,
                person_tag::Model {
                    id: Uuid::now_v7(),
                    person_id: id,
                    tag: *tag,
                    created_at: at,
                    updated_at: at,
                    version: 1,
                }
                .into_active_model(),
            )
            .await;
        }
        f.people.insert(key, id);
    }
    let orgs: &[(&str, &str, OrganizationKind)] = &[
        (
            "vol",
            "泉山志愿者协会",
            OrganizationKind::VolunteerOrganization,
        ),
        ("gov", "泉山街道办事处", OrganizationKind::Government),
        (
            "agency",
            "招远市卫生健康局",
            OrganizationKind::PartnerAgency,
        ),
    ];
    for (i, (key, name, kind)) in orgs.iter().enumerate() {
        let id = Uuid::now_v7();
        let at = t0 + Duration::hours(2) + Duration::minutes(i as i64);
        insert(
            db,
            organization::Model {
                id,
                name: (*name).to_owned(),
                kind: *kind,
                contact_name: Some("联系人".to_owned()),
                contact_phone: None,
                contact_email: Some(format!("{key}@example.org")),
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        f.orgs.insert(key, id);
    }
    for (i, (person, org)) in [
        ("wang_fang", "vol"),
        ("liu_yang", "vol"),
        ("yang_lei", "vol"),
        ("wu_ting", "vol"),
        ("chen_jing", "gov"),
    ]
    .iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        let at = t0 + Duration::hours(3) + Duration::minutes(i as i64);
        insert(
            db,
            membership::Model {
                id,
                person_id: f.people[person],
                organization_id: f.orgs[org],
                role: MembershipRole::Member,
                joined_on: NaiveDate::from_ymd_opt(2025, 1 + i as u32, 1).expect("date"),
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        f.memberships.push(id);
    }
    for (i, (grid_key, person, role)) in [
        ("G11", "wang_fang", GridWorkerRole::GridHead),
        ("G11", "liu_yang", GridWorkerRole::PartTime),
        ("G12", "yang_lei", GridWorkerRole::GridHead),
    ]
    .iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        let at = t0 + Duration::hours(4) + Duration::minutes(i as i64);
        insert(
            db,
            grid_assignment::Model {
                id,
                grid_id: f.grids[grid_key],
                person_id: f.people[person],
                role: *role,
                since: NaiveDate::from_ymd_opt(2024, 6, 1).expect("date"),
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        f.assignments.push(id);
    }
    for (i, (key, grid_key, org, title, category, status, month, capacity)) in
        SERVICES.iter().enumerate()
    {
        let id = Uuid::now_v7();
        let at = t0 + Duration::hours(5) + Duration::minutes(i as i64);
        let starts = Utc
            .with_ymd_and_hms(2026, *month, 1, 1, 0, 0)
            .single()
            .expect("time");
        insert(
            db,
            service::Model {
                id,
                grid_id: f.grids[grid_key],
                organizer_id: f.orgs[org],
                title: (*title).to_owned(),
                description: Some(format!("{title}（测试数据）")),
                category: *category,
                status: *status,
                starts_at: starts,
                ends_at: Some(starts + Duration::hours(3)),
                capacity: *capacity,
                location: Some("社区服务中心".to_owned()),
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        f.services.insert(key, id);
    }
    for (i, (service, person, org, role, status, minutes)) in PARTICIPATIONS.iter().enumerate() {
        let id = Uuid::now_v7();
        let at = t0 + Duration::hours(6) + Duration::minutes(i as i64);
        insert(
            db,
            participation::Model {
                id,
                service_id: f.services[service],
                person_id: f.people[person],
                organization_id: org.map(|o| f.orgs[o]),
                role: *role,
                status: *status,
                registered_at: at,
                checked_in_at: minutes.map(|_| at + Duration::days(30)),
                checked_out_at: minutes
                    .map(|m| at + Duration::days(30) + Duration::minutes(i64::from(m))),
                minutes: *minutes,
                external_ref: Some(format!("ext-{i}")),
                created_at: at,
                updated_at: at,
                version: 1,
            }
            .into_active_model(),
        )
        .await;
        f.participations.push(id);
    }
    f
}
