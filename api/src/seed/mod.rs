//! The deterministic demo data set: Quanshan Street (泉山街道) of Zhaoyuan (招远市, 370685),
//! Shandong.
//!
//! The data is fictional but shaped like the real thing (see `DOMAIN.md`): a district root, one
//! street per scale unit with 8 communities and 60 grids, about 5,000 residents with valid ID
//! and mobile numbers, care tags, 10 organisations with their members, grid workers on about 90%
//! of the grids, 300 services over 2026 and about 10,000 participations; and, in [`incidents`],
//! the responsibility list with the 12 offices it names and 5,000 incidents of the year before
//! the reference instant with their full history.
//!
//! Determinism: the same `scale` always produces the same rows, ids included. Every street is
//! generated from its own ChaCha8 stream (seed [`SEED`], stream = street index + 1), so street 1
//! is identical whatever the scale; ids are UUID v7 whose timestamp is a fixed base plus one
//! millisecond per row and whose random bits come from a separate seeded stream. Nothing reads
//! the clock: "now" for the data set is [`reference_instant`] (2026-12-01 00:00 China time),
//! which decides which services are over, running or still to come.
//!
//! Times: reference rows (grids, people, organisations, memberships, assignments, tags) are
//! created at the timestamp of their id (2025-12-01 plus one millisecond per row); services are
//! created 7–30 days before they start (never after the reference instant) and participations
//! at their registration. Every timestamp is a whole number of milliseconds, so PostgreSQL
//! (microsecond precision) returns exactly what was written. `version` is 1 everywhere.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, TimeDelta, Utc};
use entity::{
    Gender, GridLevel, GridWorkerRole, MembershipRole, OrganizationKind, ParticipationRole,
    ParticipationStatus, PersonTagKind, ServiceCategory, ServiceStatus, grid, grid_assignment,
    incident, incident_category, incident_event, membership, organization, participation, person,
    person_tag, responsibility, service,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable,
    QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::validate::id_number_check_char;

mod incidents;

/// Code of the root of the demo hierarchy, Zhaoyuan county-level city. Its presence in the
/// `grid` table means the demo data (or real data for the same district) is already there.
pub const DEMO_ROOT_CODE: &str = "370685";

/// Largest accepted `scale`: street codes have three digits (`370685001`–`370685999`).
pub const MAX_SCALE: u32 = 999;

/// Seed of every random stream of the data set.
pub const SEED: u64 = 0x6772_6964_676f_7600;

/// Upper bound of bound parameters per `INSERT` (rows × columns). SQLite allows 32,766 since
/// 3.32 and PostgreSQL 65,535; staying under 30,000 keeps both happy with a margin.
const MAX_PARAMS_PER_STATEMENT: usize = 30_000;

const ROOT_NAME: &str = "招远市";
const COMMUNITIES_PER_STREET: usize = 8;
const GRIDS_PER_STREET: usize = 60;
const SERVICES_PER_STREET: usize = 300;

/// Number of residents homed in one grid; the mean (83.5) gives about 5,000 per street.
const PEOPLE_PER_GRID: std::ops::RangeInclusive<usize> = 55..=112;

/// Id timestamps (and creation times of reference rows) start here and grow 1 ms per row.
const BASE_DATE: NaiveDate = ymd(2025, 12, 1);
/// First day of the year the services are spread over (China time).
const YEAR_START: NaiveDate = ymd(2026, 1, 1);
/// "Today" of the data set (China time): services before it are over, after it still to come.
const REFERENCE_DATE: NaiveDate = ymd(2026, 12, 1);
/// China Standard Time is UTC+8 all year.
const CHINA_OFFSET: TimeDelta = TimeDelta::hours(8);

/// A date known at compile time; invalid input falls back to `NaiveDate::MIN` instead of
/// panicking (all uses are literals checked by the tests).
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => NaiveDate::MIN,
    }
}

/// Midnight of `date` in China, as a UTC instant.
fn china_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc() - CHINA_OFFSET
}

/// The instant the demo data describes as "now": 2026-12-01 00:00 China time.
pub fn reference_instant() -> DateTime<Utc> {
    china_midnight(REFERENCE_DATE)
}

/// Row counts written by [`seed_demo`] (care tags are not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedSummary {
    /// `grid` rows: the district, streets, communities and grids.
    pub grids: u64,
    /// `person` rows (residents, including workers and volunteers).
    pub people: u64,
    /// `organization` rows.
    pub organizations: u64,
    /// `service` rows.
    pub services: u64,
    /// `participation` rows.
    pub participations: u64,
    /// `membership` rows.
    pub memberships: u64,
    /// `grid_assignment` rows (grid workers).
    pub assignments: u64,
    /// `responsibility` rows (lines of the responsibility list).
    pub responsibilities: u64,
    /// `incident` rows.
    pub incidents: u64,
    /// `incident_event` rows (the incidents' histories).
    pub incident_events: u64,
}

impl SeedSummary {
    fn add(&mut self, other: SeedSummary) {
        self.grids += other.grids;
        self.people += other.people;
        self.organizations += other.organizations;
        self.services += other.services;
        self.participations += other.participations;
        self.memberships += other.memberships;
        self.assignments += other.assignments;
        self.responsibilities += other.responsibilities;
        self.incidents += other.incidents;
        self.incident_events += other.incident_events;
    }
}

/// Writes the demo data set, `scale` streets of it, and returns what was written.
///
/// Scale 1 is Quanshan Street (`370685001`) with its 8 communities; scale N adds streets
/// `370685002`… up to `370685<N>`, each a full copy of the street's structure (communities,
/// grids, residents, 22 organisations, services, participations, the responsibility list and
/// incidents) with its own random data. `scale` must be between 1 and [`MAX_SCALE`].
///
/// The rows are written in one transaction, so a failure leaves the database untouched; their
/// creations are recorded in the change feed after it commits, in transactions of their own.
/// Seeding is skipped, returning an all-zero summary, when the `grid` table already has a row
/// with code [`DEMO_ROOT_CODE`]: running the seed on every start-up is safe, and it never mixes
/// with data already entered for Zhaoyuan. A skipped seed still completes the change feed's
/// record of the seeded rows if an earlier run was interrupted before it finished.
///
/// Rows are written with multi-row `INSERT`s of at most 30,000 parameters each. With
/// `show_progress`, a progress bar is drawn on stderr.
pub async fn seed_demo<C>(db: &C, scale: u32, show_progress: bool) -> Result<SeedSummary, DbErr>
where
    C: ConnectionTrait + TransactionTrait<Transaction = sea_orm::DatabaseTransaction>,
{
    if !(1..=MAX_SCALE).contains(&scale) {
        return Err(DbErr::Custom(format!(
            "seed scale must be between 1 and {MAX_SCALE}"
        )));
    }
    let txn = db.begin().await?;
    let existing = grid::Entity::find()
        .filter(grid::Column::Code.eq(DEMO_ROOT_CODE))
        .one(&txn)
        .await?;
    if existing.is_some() {
        txn.rollback().await?;
        // A seed interrupted while it recorded the feed finishes that now (a complete feed
        // costs a few indexed lookups per table).
        let recorded = crate::store::changes::baseline(db).await?;
        if recorded > 0 {
            // …and the statistics that run never took (see below).
            db.execute_unprepared("ANALYZE").await?;
        }
        return Ok(SeedSummary::default());
    }

    let categories = incidents::categories(&txn).await?;
    let progress = progress_bar(show_progress, scale);
    let mut generator = Generator::new();
    let root = generator.root();
    let mut summary = SeedSummary {
        grids: insert_rows(&txn, vec![root.clone()], &progress).await?,
        ..SeedSummary::default()
    };
    for index in 0..scale {
        progress.set_message(format!("street {}/{scale}", index + 1));
        let rows = generator.street(index, &root, &categories)?;
        // The bar starts from an estimate; replace this street's share by its real size.
        let estimate = progress.length().unwrap_or(0);
        progress.set_length(estimate.saturating_sub(ESTIMATED_ROWS_PER_STREET) + rows.len());
        summary.add(rows.insert(&txn, &progress).await?);
    }
    progress.set_message("committing");
    txn.commit().await?;
    // The seed writes rows in bulk, not through mutations: give the change feed their creations.
    progress.set_message("change feed");
    crate::store::changes::baseline(db).await?;
    // Fresh planner statistics: without them PostgreSQL plans subtree queries over a bulk-loaded
    // table as full scans (measured: 97 ms instead of 0.8 ms for one community at scale 100).
    progress.set_message("analyzing");
    db.execute_unprepared("ANALYZE").await?;
    progress.finish_and_clear();
    Ok(summary)
}

/// Rough row count of one street, for the progress bar before the street is generated.
const ESTIMATED_ROWS_PER_STREET: u64 = 55_600;

fn progress_bar(show: bool, scale: u32) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1 + u64::from(scale) * ESTIMATED_ROWS_PER_STREET);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} seeding {msg} [{wide_bar}] {human_pos}/{human_len} rows, {elapsed} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Inserts `rows` in statements of at most [`MAX_PARAMS_PER_STATEMENT`] parameters.
async fn insert_rows<C, A, M>(db: &C, rows: Vec<M>, progress: &ProgressBar) -> Result<u64, DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait,
    M: IntoActiveModel<A>,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter().count();
    let per_statement = (MAX_PARAMS_PER_STATEMENT / columns.max(1)).max(1);
    let mut written = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows
            .by_ref()
            .take(per_statement)
            .map(IntoActiveModel::into_active_model)
            .collect();
        let count = chunk.len() as u64;
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
        written += count;
        progress.inc(count);
    }
    Ok(written)
}

/// The rows of one street, in foreign-key order.
#[derive(Default)]
struct StreetRows {
    grids: Vec<grid::Model>,
    people: Vec<person::Model>,
    tags: Vec<person_tag::Model>,
    organizations: Vec<organization::Model>,
    memberships: Vec<membership::Model>,
    assignments: Vec<grid_assignment::Model>,
    services: Vec<service::Model>,
    participations: Vec<participation::Model>,
    responsibilities: Vec<responsibility::Model>,
    incidents: Vec<incident::Model>,
    incident_events: Vec<incident_event::Model>,
}

impl StreetRows {
    fn len(&self) -> u64 {
        [
            self.grids.len(),
            self.people.len(),
            self.tags.len(),
            self.organizations.len(),
            self.memberships.len(),
            self.assignments.len(),
            self.services.len(),
            self.participations.len(),
            self.responsibilities.len(),
            self.incidents.len(),
            self.incident_events.len(),
        ]
        .iter()
        .sum::<usize>() as u64
    }

    async fn insert<C: ConnectionTrait>(
        self,
        db: &C,
        progress: &ProgressBar,
    ) -> Result<SeedSummary, DbErr> {
        let grids = insert_rows(db, self.grids, progress).await?;
        let people = insert_rows(db, self.people, progress).await?;
        insert_rows(db, self.tags, progress).await?;
        let organizations = insert_rows(db, self.organizations, progress).await?;
        let memberships = insert_rows(db, self.memberships, progress).await?;
        let assignments = insert_rows(db, self.assignments, progress).await?;
        let services = insert_rows(db, self.services, progress).await?;
        let participations = insert_rows(db, self.participations, progress).await?;
        let responsibilities = insert_rows(db, self.responsibilities, progress).await?;
        let incidents = insert_rows(db, self.incidents, progress).await?;
        let incident_events = insert_rows(db, self.incident_events, progress).await?;
        Ok(SeedSummary {
            grids,
            people,
            organizations,
            services,
            participations,
            memberships,
            assignments,
            responsibilities,
            incidents,
            incident_events,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

/// Street names by street index. The first is the real name the demo is built around; the
/// next ones are other streets and towns of Zhaoyuan, then numbered copies.
const STREET_NAMES: [&str; 14] = [
    "泉山街道",
    "罗峰街道",
    "梦芝街道",
    "温泉街道",
    "大秦家街道",
    "辛庄镇",
    "张星镇",
    "金岭镇",
    "毕郭镇",
    "玲珑镇",
    "蚕庄镇",
    "夏甸镇",
    "阜山镇",
    "齐山镇",
];

/// Community name stems; street `i` uses 8 consecutive stems starting at `8 * i`.
const COMMUNITY_STEMS: [&str; 24] = [
    "金城", "罗山", "温泉", "府前", "河东", "北关", "南苑", "魏家", "玲珑", "金晖", "文化", "东关",
    "西关", "朝阳", "龙泉", "翠屏", "新华", "龙山", "凤凰", "阳光", "鑫源", "金岭", "泉山", "开元",
];

/// Surnames, repeated to follow their frequency in Jiaodong (王, 李, 张, 刘 and the local
/// 于, 姜, 曲, 隋, 栾 are common there).
const SURNAMES: &str = "王王王王王李李李李张张张张刘刘刘杨杨杨孙孙孙于于于姜姜姜徐徐曲曲林林\
                        赵赵高高宋宋隋隋栾栾邢邢吕吕陈陈郭马迟初衣温鞠滕矫宫毕范董周吴崔韩冯丁";

/// Given names by sex and generation: names follow the fashion of the birth years.
const MALE_NAMES: [&[&str]; 3] = [
    &[
        "德福", "德胜", "国庆", "建国", "建华", "振华", "玉山", "明德", "永春", "福生", "树林",
        "宝山", "庆余", "金海", "学文", "洪彬", "志刚", "长林", "春生", "立新",
    ],
    &[
        "建军", "海涛", "志强", "伟", "勇", "军", "磊", "涛", "斌", "强", "鹏", "刚", "海波",
        "永刚", "立军", "晓东", "文斌", "建平", "学军", "卫东", "洪涛", "国栋",
    ],
    &[
        "浩然", "子轩", "宇轩", "博文", "俊杰", "浩宇", "子豪", "天宇", "皓轩", "一鸣", "梓睿",
        "宇航", "明轩", "思远", "泽宇", "嘉豪", "晨阳", "铭泽", "奕辰", "子墨",
    ],
];
const FEMALE_NAMES: [&[&str]; 3] = [
    &[
        "秀英", "桂兰", "玉珍", "秀兰", "凤英", "淑珍", "玉兰", "桂英", "秀珍", "翠花", "春梅",
        "淑芬", "玉梅", "素珍", "凤兰", "秀芳", "金凤", "桂芝",
    ],
    &[
        "丽", "芳", "静", "燕", "红", "霞", "敏", "娟", "艳", "玲", "丽娜", "海燕", "晓红", "春燕",
        "秀丽", "慧", "玉红", "丽华", "美玲", "晓燕", "雪梅",
    ],
    &[
        "子涵", "欣怡", "梓涵", "诗涵", "雨萱", "可馨", "一诺", "梓萱", "佳怡", "思琪", "语嫣",
        "雨桐", "欣妍", "若曦", "紫涵", "梦瑶", "晓彤", "佳琪", "雅琪", "依诺",
    ],
];

/// Birth-year bands (first year, last year, weight): an ageing population, as in Shandong.
const BIRTH_BANDS: [(i32, i32, u32); 8] = [
    (1935, 1944, 5),
    (1945, 1954, 10),
    (1955, 1964, 17),
    (1965, 1974, 17),
    (1975, 1984, 14),
    (1985, 1994, 14),
    (1995, 2004, 11),
    (2005, 2015, 12),
];

/// Real mainland mobile prefixes (China Mobile, Unicom, Telecom, Broadnet).
const MOBILE_PREFIXES: [u64; 40] = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145, 147, 150, 151, 152, 153, 155, 156, 157,
    158, 159, 166, 173, 175, 176, 177, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191, 192,
    198, 199,
];

/// Which streets have an organisation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Streets {
    All,
    Even,
    Odd,
}

/// An organisation of a street; `{s}` in the name is replaced by the street name.
struct OrgTemplate {
    kind: OrganizationKind,
    name: &'static str,
    /// Short ASCII name, used for e-mail addresses and external references.
    slug: &'static str,
    email: bool,
    streets: Streets,
}

/// The 10 organisations of a street: 2 government bodies and 4 volunteer organisations on
/// streets with an even index (Quanshan Street is index 0), 1 and 5 on the others.
const ORGS: [OrgTemplate; 11] = {
    use OrganizationKind::{
        CommunityGroup as Group, Government as Gov, PartnerAgency as Partner,
        VolunteerOrganization as Volunteer,
    };
    use Streets::{All, Even, Odd};
    [
        org(Gov, "{s}办事处", "office", true, All),
        org(Gov, "{s}综合治理中心", "zongzhi", true, Even),
        org(
            Volunteer,
            "{s}新时代文明实践志愿服务队",
            "wenming",
            true,
            All,
        ),
        org(Volunteer, "{s}红马甲志愿者协会", "hongmajia", true, All),
        org(Volunteer, "{s}青年志愿者服务队", "qingnian", true, All),
        org(Volunteer, "{s}巾帼志愿服务队", "jinguo", true, All),
        org(Volunteer, "{s}党员先锋志愿服务队", "dangyuan", true, Odd),
        org(Partner, "招远市卫生健康局驻{s}工作组", "weijian", true, All),
        org(Partner, "招远市民政局驻{s}工作组", "minzheng", true, All),
        org(Group, "{s}老年协会", "laoxie", true, All),
        org(Group, "{s}邻里互助会", "linli", false, All),
    ]
};

const fn org(
    kind: OrganizationKind,
    name: &'static str,
    slug: &'static str,
    email: bool,
    streets: Streets,
) -> OrgTemplate {
    OrgTemplate {
        kind,
        name,
        slug,
        email,
        streets,
    }
}

const CATEGORIES: [ServiceCategory; 8] = [
    ServiceCategory::EpidemicPrevention,
    ServiceCategory::ElderlyCare,
    ServiceCategory::Health,
    ServiceCategory::Safety,
    ServiceCategory::Sanitation,
    ServiceCategory::LegalAid,
    ServiceCategory::Education,
    ServiceCategory::Other,
];

/// Service statuses with their weights (per cent).
const STATUSES: [(ServiceStatus, u32); 5] = [
    (ServiceStatus::Completed, 55),
    (ServiceStatus::Published, 18),
    (ServiceStatus::InProgress, 10),
    (ServiceStatus::Draft, 9),
    (ServiceStatus::Cancelled, 8),
];

/// Titles and description of each category, in the order of [`CATEGORIES`].
const SERVICE_TEXTS: [(&[&str], &str); 8] = [
    (
        &[
            "核酸检测采样",
            "疫苗接种集中服务",
            "流感疫苗接种宣传",
            "返乡人员健康登记",
            "重点场所消杀",
        ],
        "按照疫情防控要求组织开展，请居民佩戴口罩、有序排队。",
    ),
    (
        &[
            "独居老人入户探访",
            "老年人助餐服务",
            "重阳节敬老活动",
            "高龄老人健康随访",
            "适老化改造入户评估",
        ],
        "为辖区老年人提供上门探访和生活帮扶，重点关注独居、高龄老人。",
    ),
    (
        &[
            "义诊进社区",
            "免费测血压血糖",
            "家庭医生签约服务",
            "慢病健康讲座",
            "心理健康咨询",
        ],
        "社区卫生服务人员现场提供健康检查和咨询。",
    ),
    (
        &[
            "消防安全隐患排查",
            "防溺水安全宣传",
            "燃气安全入户检查",
            "电动车充电安全检查",
            "应急疏散演练",
        ],
        "排查安全隐患，普及安全知识，提升居民自救互救能力。",
    ),
    (
        &[
            "小区环境卫生大扫除",
            "垃圾分类宣传",
            "楼道杂物清理",
            "绿地补植",
            "背街小巷整治",
        ],
        "组织居民和志愿者共同改善社区环境。",
    ),
    (
        &[
            "法律援助咨询",
            "反诈宣传讲座",
            "矛盾纠纷调解",
            "法律知识进万家",
            "婚姻家庭法律讲座",
        ],
        "律师和调解员现场解答法律问题，提供援助指引。",
    ),
    (
        &[
            "四点半课堂",
            "暑期青少年托管",
            "老年人智能手机培训",
            "家庭教育讲座",
            "国学经典诵读",
        ],
        "面向社区居民的公益课堂，免费参加。",
    ),
    (
        &[
            "便民理发",
            "家电义务维修",
            "政策宣讲",
            "邻里节活动",
            "旧衣物回收",
        ],
        "便民利民服务活动，欢迎居民参与。",
    ),
];

// ---------------------------------------------------------------------------------------------
// Generation.

/// A resident as the later generation steps need it.
struct Resident {
    id: Uuid,
    birth: NaiveDate,
    /// Age on [`REFERENCE_DATE`].
    age: i32,
    grid: usize,
    has_phone: bool,
}

struct GridInfo {
    id: Uuid,
    name: String,
    /// Number of the grid in its community, from 1.
    number: usize,
    community: usize,
    /// Residents responsible for the grid (indices into `Street::residents`).
    workers: Vec<usize>,
    /// Corners of its rectangle: west, south, east, north.
    bounds: [f64; 4],
}

struct CommunityInfo {
    name: String,
    /// Residents of the community, and those of them aged 60 or more.
    residents: Vec<usize>,
    elderly: Vec<usize>,
}

struct OrgInfo {
    id: Uuid,
    kind: OrganizationKind,
    slug: &'static str,
    name: String,
    /// Members (indices into `Street::residents`), the admin first.
    members: Vec<usize>,
}

/// One street being generated.
struct Street {
    code: String,
    name: String,
    communities: Vec<CommunityInfo>,
    grids: Vec<GridInfo>,
    residents: Vec<Resident>,
    orgs: Vec<OrgInfo>,
}

/// What a participation needs to know about its service.
struct ServiceCtx {
    id: Uuid,
    status: ServiceStatus,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// Registrations happen in `[registration_start, registration_end)`.
    registration_start: DateTime<Utc>,
    registration_end: DateTime<Utc>,
    /// When a cancelled service was cancelled.
    cancelled_at: Option<DateTime<Utc>>,
}

/// Who takes part, in which role, registered by which organisation.
struct Taker {
    person: Uuid,
    role: ParticipationRole,
    organization_id: Option<Uuid>,
    external_ref: Option<String>,
    /// A beneficiary beyond the capacity count who cancelled the registration.
    cancelled: bool,
}

/// State shared by all streets: the id stream and the uniqueness sets.
struct Generator {
    /// Random bits of the ids. A stream of its own, so that ids do not depend on how many
    /// numbers the data streams draw.
    id_rng: ChaCha8Rng,
    base: DateTime<Utc>,
    /// Milliseconds after `base` of the next id.
    next_offset: i64,
    /// Issued ID numbers as `days from CE * 1000 + sequence`: unique across streets.
    id_numbers: HashSet<u64>,
    phones: HashSet<u64>,
    external_refs: u64,
    surnames: Vec<char>,
}

impl Generator {
    fn new() -> Self {
        let mut id_rng = ChaCha8Rng::seed_from_u64(SEED);
        // Stream 0 is for ids; streets use streams 1, 2, ….
        id_rng.set_stream(0);
        Generator {
            id_rng,
            base: BASE_DATE.and_time(NaiveTime::MIN).and_utc(),
            next_offset: 0,
            id_numbers: HashSet::new(),
            phones: HashSet::new(),
            external_refs: 0,
            surnames: SURNAMES.chars().collect(),
        }
    }

    /// A new UUID v7 and the instant it encodes: each call is one millisecond later.
    fn next_id(&mut self) -> (Uuid, DateTime<Utc>) {
        let mut random = [0u8; 10];
        self.id_rng.fill(&mut random);
        let at = self.base + TimeDelta::milliseconds(self.next_offset);
        self.next_offset += 1;
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
        (
            uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid(),
            at,
        )
    }

    fn grid_row(
        &mut self,
        code: String,
        name: String,
        level: GridLevel,
        parent: Option<&grid::Model>,
    ) -> grid::Model {
        let (id, at) = self.next_id();
        let path = match parent {
            Some(parent) => format!("{}{id}/", parent.path),
            None => format!("/{id}/"),
        };
        grid::Model {
            id,
            code,
            name,
            level,
            parent_id: parent.map(|p| p.id),
            path,
            boundary: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn root(&mut self) -> grid::Model {
        self.grid_row(
            DEMO_ROOT_CODE.to_owned(),
            ROOT_NAME.to_owned(),
            GridLevel::District,
            None,
        )
    }

    /// Generates street `index` (0-based) below `root`.
    fn street(
        &mut self,
        index: u32,
        root: &grid::Model,
        categories: &[incident_category::Model],
    ) -> Result<StreetRows, DbErr> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        rng.set_stream(u64::from(index) + 1);
        let mut rows = StreetRows::default();
        let mut street = self.hierarchy(&mut rng, index, root, &mut rows);
        self.people(&mut rng, &mut street, &mut rows)?;
        self.assignments(&mut rng, &mut street, &mut rows);
        self.organizations(&mut rng, index, &mut street, &mut rows);
        self.services(&mut rng, &street, &mut rows);
        self.incidents(index, root, &street, categories, &mut rows)?;
        Ok(rows)
    }

    /// The street, its communities and grids, with simple rectangular boundaries.
    fn hierarchy(
        &mut self,
        rng: &mut ChaCha8Rng,
        index: u32,
        root: &grid::Model,
        rows: &mut StreetRows,
    ) -> Street {
        let i = index as usize;
        let code = format!("{DEMO_ROOT_CODE}{:03}", index + 1);
        let name = match STREET_NAMES.get(i) {
            Some(name) => (*name).to_owned(),
            None => format!(
                "{}{}区",
                STREET_NAMES[i % STREET_NAMES.len()],
                i / STREET_NAMES.len() + 1
            ),
        };
        let street_row = self.grid_row(code.clone(), name.clone(), GridLevel::Street, Some(root));

        // 7 grids per community plus the remainder spread at random.
        let mut grid_counts = [GRIDS_PER_STREET / COMMUNITIES_PER_STREET; COMMUNITIES_PER_STREET];
        for _ in 0..GRIDS_PER_STREET % COMMUNITIES_PER_STREET {
            grid_counts[rng.random_range(0..COMMUNITIES_PER_STREET)] += 1;
        }
        // Streets in a 20-wide lattice east of Zhaoyuan's centre; communities 4 × 2 in a
        // street, grids side by side in a community. Fictional, but valid GeoJSON.
        let (street_lon, street_lat) = (
            120.30 + (i % 20) as f64 * 0.05,
            37.30 + (i / 20) as f64 * 0.025,
        );
        let (community_w, community_h) = (0.012, 0.01);

        let mut street = Street {
            code: code.clone(),
            name,
            communities: Vec::with_capacity(COMMUNITIES_PER_STREET),
            grids: Vec::with_capacity(GRIDS_PER_STREET),
            residents: Vec::new(),
            orgs: Vec::new(),
        };
        let mut grid_rows = Vec::with_capacity(GRIDS_PER_STREET + COMMUNITIES_PER_STREET);
        for (c, grid_count) in grid_counts.into_iter().enumerate() {
            let community_name = format!(
                "{}社区",
                COMMUNITY_STEMS[(i * COMMUNITIES_PER_STREET + c) % COMMUNITY_STEMS.len()]
            );
            let community_code = format!("{code}{:03}", c + 1);
            let x0 = street_lon + (c % 4) as f64 * community_w;
            let y0 = street_lat + (c / 4) as f64 * community_h;
            let mut community = self.grid_row(
                community_code.clone(),
                community_name.clone(),
                GridLevel::Community,
                Some(&street_row),
            );
            community.boundary = Some(rectangle(x0, y0, x0 + community_w, y0 + community_h));
            for g in 0..grid_count {
                let grid_name = format!("{community_name}第{}网格", g + 1);
                let mut grid = self.grid_row(
                    format!("{community_code}-{:02}", g + 1),
                    grid_name.clone(),
                    GridLevel::Grid,
                    Some(&community),
                );
                let w = community_w / grid_count as f64;
                let gx = x0 + g as f64 * w;
                grid.boundary = Some(rectangle(gx, y0, gx + w, y0 + community_h));
                street.grids.push(GridInfo {
                    id: grid.id,
                    name: grid_name,
                    number: g + 1,
                    community: c,
                    workers: Vec::new(),
                    bounds: [gx, y0, gx + w, y0 + community_h],
                });
                grid_rows.push(grid);
            }
            street.communities.push(CommunityInfo {
                name: community_name,
                residents: Vec::new(),
                elderly: Vec::new(),
            });
            // Parents before children, so that the foreign key holds row by row.
            rows.grids.push(community);
        }
        rows.grids.insert(0, street_row);
        rows.grids.extend(grid_rows);
        street
    }

    /// Residents of every grid, with their care tags.
    fn people(
        &mut self,
        rng: &mut ChaCha8Rng,
        street: &mut Street,
        rows: &mut StreetRows,
    ) -> Result<(), DbErr> {
        for g in 0..street.grids.len() {
            let count = rng.random_range(PEOPLE_PER_GRID);
            let community = street.grids[g].community;
            for _ in 0..count {
                let gender = if rng.random_bool(0.5) {
                    Gender::Male
                } else {
                    Gender::Female
                };
                let birth = random_birth_date(rng);
                let age = age_on(birth, REFERENCE_DATE);
                let name = self.name(rng, gender, birth.year());
                let id_number = self.id_number(rng, birth, gender)?;
                let phone_share = match age {
                    ..18 => 0.0,
                    18..75 => 0.93,
                    _ => 0.6,
                };
                let phone = if rng.random_bool(phone_share) {
                    Some(self.phone(rng)?)
                } else {
                    None
                };
                // Grid n of a community covers buildings 5n-4 to 5n of it.
                let building = (street.grids[g].number - 1) * 5 + rng.random_range(1..=5);
                let address = format!(
                    "{}{}{building}号楼{}单元",
                    street.name,
                    street.communities[community].name,
                    rng.random_range(1..=4)
                );
                let (id, at) = self.next_id();
                let r = street.residents.len();
                street.communities[community].residents.push(r);
                if age >= 60 {
                    street.communities[community].elderly.push(r);
                }
                street.residents.push(Resident {
                    id,
                    birth,
                    age,
                    grid: g,
                    has_phone: phone.is_some(),
                });
                rows.people.push(person::Model {
                    id,
                    name,
                    gender: Some(gender),
                    birth_date: Some(birth),
                    phone,
                    id_number: Some(id_number),
                    grid_id: street.grids[g].id,
                    address: Some(address),
                    erased_at: None,
                    created_at: at,
                    updated_at: at,
                    version: 1,
                });
                // Care tags: about 15% of residents have at least one.
                let mut tags = Vec::new();
                if age >= 65 && rng.random_bool(0.2) {
                    tags.push(PersonTagKind::ElderlyLivingAlone);
                }
                if rng.random_bool(if age >= 60 { 0.07 } else { 0.03 }) {
                    tags.push(PersonTagKind::Disabled);
                }
                if rng.random_bool(if tags.is_empty() { 0.03 } else { 0.3 }) {
                    tags.push(PersonTagKind::KeyCare);
                }
                if rng.random_bool(0.03) {
                    tags.push(PersonTagKind::HealthMonitoring);
                }
                for tag in tags {
                    let (tag_id, at) = self.next_id();
                    rows.tags.push(person_tag::Model {
                        id: tag_id,
                        person_id: id,
                        tag,
                        created_at: at,
                        updated_at: at,
                        version: 1,
                    });
                }
            }
        }
        Ok(())
    }

    fn name(&self, rng: &mut ChaCha8Rng, gender: Gender, birth_year: i32) -> String {
        let generation = match birth_year {
            ..1960 => 0,
            1960..1990 => 1,
            _ => 2,
        };
        let given = match gender {
            Gender::Male => MALE_NAMES[generation],
            Gender::Female => FEMALE_NAMES[generation],
        };
        let surname = self.surnames.choose(rng).copied().unwrap_or('王');
        let given = given.choose(rng).copied().unwrap_or("明");
        format!("{surname}{given}")
    }

    /// A fresh valid ID number: area code 370685, the birth date, a sequence number whose
    /// parity is the sex (odd: male), and the check character.
    fn id_number(
        &mut self,
        rng: &mut ChaCha8Rng,
        birth: NaiveDate,
        gender: Gender,
    ) -> Result<String, DbErr> {
        let day = u64::try_from(birth.num_days_from_ce()).unwrap_or_default();
        // 500 odd sequence numbers (001–999) for men, 499 even ones (002–998) for women; with
        // at most a few dozen people born on one day, a free one is found in a few draws.
        for _ in 0..10_000 {
            let sequence = match gender {
                Gender::Male => 2 * rng.random_range(0..500u64) + 1,
                Gender::Female => 2 * rng.random_range(0..499u64) + 2,
            };
            if self.id_numbers.insert(day * 1000 + sequence) {
                let first17 = format!(
                    "{DEMO_ROOT_CODE}{:04}{:02}{:02}{sequence:03}",
                    birth.year(),
                    birth.month(),
                    birth.day()
                );
                let check = id_number_check_char(&first17)
                    .ok_or_else(|| DbErr::Custom("seed: malformed ID number".to_owned()))?;
                return Ok(format!("{first17}{check}"));
            }
        }
        Err(DbErr::Custom(
            "seed: no free ID number sequence left".to_owned(),
        ))
    }

    /// A fresh mobile number (unique over the data set).
    fn phone(&mut self, rng: &mut ChaCha8Rng) -> Result<String, DbErr> {
        for _ in 0..10_000 {
            let prefix = MOBILE_PREFIXES.choose(rng).copied().unwrap_or(138);
            let number = prefix * 100_000_000 + rng.random_range(0..100_000_000u64);
            if self.phones.insert(number) {
                return Ok(number.to_string());
            }
        }
        Err(DbErr::Custom("seed: no free mobile number left".to_owned()))
    }

    /// Grid workers: every grid but a tenth of them gets a grid head and up to two more.
    fn assignments(&mut self, rng: &mut ChaCha8Rng, street: &mut Street, rows: &mut StreetRows) {
        let mut order: Vec<usize> = (0..street.grids.len()).collect();
        order.shuffle(rng);
        // The first tenth of the shuffled grids stays uncovered, so coverage is visibly < 100%.
        let uncovered = street.grids.len() / 10;
        let mut covered: Vec<usize> = order.into_iter().skip(uncovered).collect();
        covered.sort_unstable();
        for g in covered {
            let candidates: Vec<usize> = street
                .residents
                .iter()
                .enumerate()
                .filter(|(_, r)| r.grid == g && (25..=60).contains(&r.age) && r.has_phone)
                .map(|(i, _)| i)
                .collect();
            let count = rng.random_range(1..=3);
            let workers: Vec<usize> = candidates.choose_multiple(rng, count).copied().collect();
            for (k, &w) in workers.iter().enumerate() {
                let role = if k == 0 {
                    GridWorkerRole::GridHead
                } else {
                    [
                        GridWorkerRole::FullTime,
                        GridWorkerRole::PartTime,
                        GridWorkerRole::Volunteer,
                    ][rng.random_range(0..3)]
                };
                let since = random_date(rng, ymd(2019, 1, 1), ymd(2025, 10, 31));
                let (id, at) = self.next_id();
                rows.assignments.push(grid_assignment::Model {
                    id,
                    grid_id: street.grids[g].id,
                    person_id: street.residents[w].id,
                    role,
                    since,
                    created_at: at,
                    updated_at: at,
                    version: 1,
                });
            }
            street.grids[g].workers = workers;
        }
    }

    /// The street's 10 organisations and their members.
    fn organizations(
        &mut self,
        rng: &mut ChaCha8Rng,
        index: u32,
        street: &mut Street,
        rows: &mut StreetRows,
    ) {
        let parity = if index.is_multiple_of(2) {
            Streets::Even
        } else {
            Streets::Odd
        };
        let templates: Vec<&OrgTemplate> = ORGS
            .iter()
            .filter(|t| t.streets == Streets::All || t.streets == parity)
            .collect();
        let residents = &street.residents;
        let adults = |min: i32, max: i32, phone: bool| -> Vec<usize> {
            residents
                .iter()
                .enumerate()
                .filter(|(_, r)| (min..=max).contains(&r.age) && (r.has_phone || !phone))
                .map(|(i, _)| i)
                .collect()
        };
        let volunteer_pool = adults(18, 72, false);
        let staff_pool = adults(25, 60, true);
        let elderly_pool = adults(60, 120, false);

        // Grid workers by role: heads and full-time workers belong to the street office,
        // part-time ones to the comprehensive-governance centre (or the office), volunteers to
        // a volunteer organisation.
        let mut workers_by_role: [Vec<usize>; 3] = Default::default();
        for assignment in &rows.assignments {
            let Some(w) = residents.iter().position(|r| r.id == assignment.person_id) else {
                continue;
            };
            let slot = match assignment.role {
                GridWorkerRole::GridHead | GridWorkerRole::FullTime => 0,
                GridWorkerRole::PartTime => 1,
                GridWorkerRole::Volunteer => 2,
            };
            workers_by_role[slot].push(w);
        }
        let has_zongzhi = templates.iter().any(|t| t.slug == "zongzhi");

        let mut orgs = Vec::with_capacity(templates.len());
        for &template in &templates {
            let mut members: Vec<usize> = match (template.kind, template.slug) {
                (OrganizationKind::VolunteerOrganization, _) => {
                    let count = rng.random_range(70..=100);
                    volunteer_pool
                        .choose_multiple(rng, count)
                        .copied()
                        .collect()
                }
                (_, "laoxie") => {
                    let count = rng.random_range(30..=50);
                    elderly_pool.choose_multiple(rng, count).copied().collect()
                }
                (_, "linli") => {
                    let count = rng.random_range(15..=30);
                    volunteer_pool
                        .choose_multiple(rng, count)
                        .copied()
                        .collect()
                }
                _ => {
                    let count = rng.random_range(3..=5);
                    staff_pool.choose_multiple(rng, count).copied().collect()
                }
            };
            let workers = match template.slug {
                "office" if has_zongzhi => workers_by_role[0].clone(),
                "office" => [workers_by_role[0].as_slice(), &workers_by_role[1]].concat(),
                "zongzhi" => workers_by_role[1].clone(),
                _ => Vec::new(),
            };
            for w in workers {
                if !members.contains(&w) {
                    members.push(w);
                }
            }
            // The admin, who is also the contact person, is the first member with a phone.
            if let Some(admin) = members.iter().position(|&m| residents[m].has_phone) {
                members.swap(0, admin);
            }
            orgs.push(OrgInfo {
                id: Uuid::nil(),
                kind: template.kind,
                slug: template.slug,
                name: template.name.replace("{s}", &street.name),
                members,
            });
        }
        // Volunteer grid workers who are in no volunteer organisation join one.
        let volunteer_orgs: Vec<usize> = (0..orgs.len())
            .filter(|&o| orgs[o].kind == OrganizationKind::VolunteerOrganization)
            .collect();
        for &w in &workers_by_role[2] {
            let in_one = volunteer_orgs.iter().any(|&o| orgs[o].members.contains(&w));
            if let (false, Some(&o)) = (in_one, volunteer_orgs.choose(rng)) {
                orgs[o].members.push(w);
            }
        }

        for (template, info) in templates.iter().zip(orgs.iter_mut()) {
            let (id, at) = self.next_id();
            info.id = id;
            let admin = info.members.first().map(|&m| &rows.people[m]);
            rows.organizations.push(organization::Model {
                id,
                name: info.name.clone(),
                kind: info.kind,
                contact_name: admin.map(|p| p.name.clone()),
                contact_phone: admin.and_then(|p| p.phone.clone()),
                contact_email: template
                    .email
                    .then(|| format!("{}.{}@example.org", template.slug, street.code)),
                created_at: at,
                updated_at: at,
                version: 1,
            });
            let coordinators = rng.random_range(1..=3);
            for (k, &m) in info.members.iter().enumerate() {
                let role = match k {
                    0 => MembershipRole::Admin,
                    k if k <= coordinators => MembershipRole::Coordinator,
                    _ => MembershipRole::Member,
                };
                // Joined between 2016 and the import, and not before turning 16.
                let sixteen = residents[m].birth.checked_add_months(Months::new(16 * 12));
                let joined = random_date(rng, ymd(2016, 1, 1), ymd(2025, 11, 30));
                let joined_on = sixteen.map_or(joined, |s| joined.max(s));
                let (mid, at) = self.next_id();
                rows.memberships.push(membership::Model {
                    id: mid,
                    person_id: residents[m].id,
                    organization_id: id,
                    role,
                    joined_on,
                    created_at: at,
                    updated_at: at,
                    version: 1,
                });
            }
        }
        street.orgs = orgs;
    }

    /// The street's services over 2026 and their participations.
    fn services(&mut self, rng: &mut ChaCha8Rng, street: &Street, rows: &mut StreetRows) {
        let year_start = china_midnight(YEAR_START);
        let reference = reference_instant();
        let reference_day = (REFERENCE_DATE - YEAR_START).num_days();
        let year_days = (ymd(2027, 1, 1) - YEAR_START).num_days();
        let volunteer_orgs: Vec<usize> = (0..street.orgs.len())
            .filter(|&o| street.orgs[o].kind == OrganizationKind::VolunteerOrganization)
            .collect();
        // (organisation, member) pairs of all volunteer organisations.
        let all_volunteers: Vec<(usize, usize)> = volunteer_orgs
            .iter()
            .flat_map(|&o| street.orgs[o].members.iter().map(move |&m| (o, m)))
            .collect();

        for i in 0..SERVICES_PER_STREET {
            // The first services cover every category and status; the rest are drawn.
            let category = CATEGORIES[if i < CATEGORIES.len() {
                i
            } else {
                rng.random_range(0..CATEGORIES.len())
            }];
            let status = if i < STATUSES.len() {
                STATUSES[i].0
            } else {
                STATUSES[pick_weighted(rng, &STATUSES.map(|(_, w)| w))].0
            };
            let g = rng.random_range(0..street.grids.len());
            let grid = &street.grids[g];
            let community = &street.communities[grid.community];

            // Over, running or to come, as seen from the reference instant.
            let days = match status {
                ServiceStatus::Completed => 0..reference_day - 3,
                ServiceStatus::InProgress => reference_day - 3..reference_day,
                ServiceStatus::Published | ServiceStatus::Draft => reference_day..year_days,
                ServiceStatus::Cancelled => 0..year_days,
            };
            // Start between 08:00 and 16:00 China time on the half hour, last 2 to 4 hours.
            let starts_at = year_start
                + TimeDelta::days(rng.random_range(days))
                + TimeDelta::minutes(30 * rng.random_range(16..=32));
            let ends_at = starts_at + TimeDelta::minutes(30 * rng.random_range(4..=8));
            let capacity = rng.random_bool(0.8).then(|| rng.random_range(20..=60));
            // Published 7 to 30 days ahead, and never after the reference instant.
            let created_at = (starts_at - TimeDelta::days(rng.random_range(7..=30)))
                .min(reference - TimeDelta::hours(rng.random_range(24..=96)))
                - TimeDelta::minutes(rng.random_range(0..600));
            let registration_end =
                (starts_at - TimeDelta::hours(1)).min(reference - TimeDelta::minutes(1));
            let cancelled_at = (status == ServiceStatus::Cancelled).then_some(registration_end);
            let updated_at = match status {
                ServiceStatus::Draft | ServiceStatus::Published => created_at,
                ServiceStatus::InProgress => starts_at,
                ServiceStatus::Completed => ends_at,
                ServiceStatus::Cancelled => registration_end,
            };

            let organizer = pick_organizer(rng, category, &street.orgs);
            let org = &street.orgs[organizer];
            let (titles, description) =
                SERVICE_TEXTS[CATEGORIES.iter().position(|&c| c == category).unwrap_or(0)];
            let title = titles.choose(rng).copied().unwrap_or("社区服务");
            let location = match rng.random_range(0..4) {
                0 => format!("{}党群服务中心", community.name),
                1 => format!("{}{}号楼前广场", community.name, rng.random_range(1..=40)),
                2 => format!("{}新时代文明实践站", community.name),
                _ => format!("{}服务站", grid.name),
            };
            let (id, _) = self.next_id();
            rows.services.push(service::Model {
                id,
                grid_id: grid.id,
                organizer_id: org.id,
                title: format!("{title}（{}）", grid.name),
                description: Some(format!("{description}由{}组织。", org.name)),
                category,
                status,
                starts_at,
                ends_at: Some(ends_at),
                capacity,
                location: Some(location),
                created_at,
                updated_at,
                version: 1,
            });

            if status == ServiceStatus::Draft {
                continue; // nobody can register for a draft
            }
            let ctx = ServiceCtx {
                id,
                status,
                starts_at,
                ends_at,
                registration_start: created_at + TimeDelta::hours(1),
                // Registrations of a cancelled service all precede its cancellation.
                registration_end: cancelled_at
                    .map_or(registration_end, |c| c - TimeDelta::hours(1)),
                cancelled_at,
            };

            // Participants that count against the capacity.
            let limit = capacity.map_or_else(|| rng.random_range(30..=90usize), |c| c as usize);
            let mut wanted = if capacity.is_some() {
                rng.random_range(limit * 13 / 20..=limit)
            } else {
                limit
            };
            if status == ServiceStatus::Cancelled {
                wanted /= 2; // cancelled before filling up
            }
            let mut taken: HashSet<usize> = HashSet::new();
            let mut takers: Vec<Taker> = Vec::with_capacity(wanted + 8);

            // Volunteers from the organizer if it is a volunteer organisation, else from any.
            let own_members: Vec<(usize, usize)>;
            let pool = if org.kind == OrganizationKind::VolunteerOrganization {
                own_members = org.members.iter().map(|&m| (organizer, m)).collect();
                &own_members
            } else {
                &all_volunteers
            };
            let volunteers = (wanted / 6).max(2).min(wanted);
            for (o, m) in pool.choose_multiple(rng, volunteers * 2).copied() {
                if takers.len() >= volunteers {
                    break;
                }
                if taken.insert(m) {
                    let volunteer_org = &street.orgs[o];
                    let external_ref = rng.random_bool(0.5).then(|| {
                        self.external_refs += 1;
                        format!(
                            "{}-{:08}",
                            volunteer_org.slug.to_uppercase(),
                            self.external_refs
                        )
                    });
                    takers.push(Taker {
                        person: street.residents[m].id,
                        role: ParticipationRole::Volunteer,
                        organization_id: Some(volunteer_org.id),
                        external_ref,
                        cancelled: false,
                    });
                }
            }
            // The grid's workers as staff.
            for &w in grid.workers.iter().take(2) {
                if takers.len() < wanted && taken.insert(w) {
                    takers.push(Taker {
                        person: street.residents[w].id,
                        role: ParticipationRole::Staff,
                        organization_id: Some(org.id),
                        external_ref: None,
                        cancelled: false,
                    });
                }
            }
            // Beneficiaries from the community; the elderly for elderly care.
            let candidates = if category == ServiceCategory::ElderlyCare {
                &community.elderly
            } else {
                &community.residents
            };
            let beneficiaries = wanted.saturating_sub(takers.len());
            let extra_cancelled = match status {
                ServiceStatus::Published | ServiceStatus::InProgress => {
                    rng.random_range(0..=wanted / 12)
                }
                _ => 0,
            };
            let mut picked = 0;
            for &b in
                candidates.choose_multiple(rng, beneficiaries + extra_cancelled + takers.len())
            {
                if picked >= beneficiaries + extra_cancelled {
                    break;
                }
                if taken.insert(b) {
                    picked += 1;
                    takers.push(Taker {
                        person: street.residents[b].id,
                        role: ParticipationRole::Beneficiary,
                        organization_id: rng.random_bool(0.5).then_some(org.id),
                        external_ref: None,
                        // Those past the wanted count cancelled: they do not count
                        // against the capacity.
                        cancelled: picked > beneficiaries,
                    });
                }
            }

            for taker in takers {
                let status = participation_status(rng, &ctx, &taker);
                let row = self.participation(rng, &ctx, taker, status);
                rows.participations.push(row);
            }
        }
    }

    /// One participation with times consistent with its status and its service.
    fn participation(
        &mut self,
        rng: &mut ChaCha8Rng,
        svc: &ServiceCtx,
        taker: Taker,
        status: ParticipationStatus,
    ) -> participation::Model {
        let (id, _) = self.next_id();
        let window = (svc.registration_end - svc.registration_start)
            .num_seconds()
            .max(1);
        let registered_at =
            svc.registration_start + TimeDelta::seconds(rng.random_range(0..window));
        let check_in = |rng: &mut ChaCha8Rng| {
            svc.starts_at + TimeDelta::seconds(rng.random_range(-20 * 60..=30 * 60))
        };
        let (checked_in_at, checked_out_at, minutes, updated_at) = match status {
            ParticipationStatus::Completed => {
                let checked_in = check_in(rng);
                let checked_out = match taker.role {
                    // Volunteers and staff stay to the end; beneficiaries leave when served.
                    ParticipationRole::Volunteer | ParticipationRole::Staff => {
                        svc.ends_at + TimeDelta::seconds(rng.random_range(-30 * 60..=20 * 60))
                    }
                    ParticipationRole::Beneficiary => {
                        let span = (svc.ends_at - svc.starts_at).num_seconds();
                        checked_in + TimeDelta::seconds(rng.random_range(20 * 60..=span))
                    }
                }
                .max(checked_in + TimeDelta::minutes(10));
                // Whole minutes, rounded down: never more than the time actually present.
                let minutes = i32::try_from((checked_out - checked_in).num_minutes()).unwrap_or(0);
                (
                    Some(checked_in),
                    Some(checked_out),
                    Some(minutes),
                    checked_out,
                )
            }
            ParticipationStatus::CheckedIn => {
                let checked_in = check_in(rng);
                (Some(checked_in), None, None, checked_in)
            }
            ParticipationStatus::Cancelled => {
                let cancelled_at = svc.cancelled_at.unwrap_or_else(|| {
                    let left = (svc.registration_end - registered_at).num_seconds().max(1);
                    registered_at + TimeDelta::seconds(rng.random_range(0..left))
                });
                (None, None, None, cancelled_at)
            }
            ParticipationStatus::NoShow => (None, None, None, svc.ends_at),
            ParticipationStatus::Registered => (None, None, None, registered_at),
        };
        participation::Model {
            id,
            service_id: svc.id,
            person_id: taker.person,
            organization_id: taker.organization_id,
            role: taker.role,
            status,
            registered_at,
            checked_in_at,
            checked_out_at,
            minutes,
            external_ref: taker.external_ref,
            created_at: registered_at,
            updated_at,
            version: 1,
        }
    }
}

/// The status of a participation given its service's status.
fn participation_status(
    rng: &mut ChaCha8Rng,
    svc: &ServiceCtx,
    taker: &Taker,
) -> ParticipationStatus {
    if taker.cancelled {
        return ParticipationStatus::Cancelled;
    }
    let helper = taker.role != ParticipationRole::Beneficiary;
    match svc.status {
        ServiceStatus::Completed => {
            if rng.random_bool(if helper { 0.96 } else { 0.88 }) {
                ParticipationStatus::Completed
            } else {
                ParticipationStatus::NoShow
            }
        }
        ServiceStatus::InProgress => match rng.random_range(0..10) {
            0..2 => ParticipationStatus::Completed,
            2..8 => ParticipationStatus::CheckedIn,
            _ => ParticipationStatus::Registered,
        },
        ServiceStatus::Cancelled => ParticipationStatus::Cancelled,
        ServiceStatus::Published | ServiceStatus::Draft => ParticipationStatus::Registered,
    }
}

/// Organizer of a service: the kind of organisation depends on the category (weights for
/// government, volunteer organisation, partner agency, community group), then any of that kind.
fn pick_organizer(rng: &mut ChaCha8Rng, category: ServiceCategory, orgs: &[OrgInfo]) -> usize {
    const KINDS: [OrganizationKind; 4] = [
        OrganizationKind::Government,
        OrganizationKind::VolunteerOrganization,
        OrganizationKind::PartnerAgency,
        OrganizationKind::CommunityGroup,
    ];
    let weights = match category {
        ServiceCategory::EpidemicPrevention | ServiceCategory::Health => [40, 30, 30, 0],
        ServiceCategory::ElderlyCare => [15, 60, 0, 25],
        ServiceCategory::Safety | ServiceCategory::LegalAid => [50, 40, 10, 0],
        ServiceCategory::Sanitation => [20, 60, 0, 20],
        ServiceCategory::Education => [30, 70, 0, 0],
        ServiceCategory::Other => [25, 25, 25, 25],
    };
    let kind = KINDS[pick_weighted(rng, &weights)];
    let of_kind: Vec<usize> = (0..orgs.len()).filter(|&o| orgs[o].kind == kind).collect();
    of_kind
        .choose(rng)
        .copied()
        .unwrap_or_else(|| rng.random_range(0..orgs.len().max(1)))
}

/// Index drawn with probability proportional to its weight.
fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

fn random_birth_date(rng: &mut ChaCha8Rng) -> NaiveDate {
    let (first, last, _) = BIRTH_BANDS[pick_weighted(rng, &BIRTH_BANDS.map(|(_, _, w)| w))];
    random_date(rng, ymd(first, 1, 1), ymd(last, 12, 31))
}

/// A uniformly drawn date in `from..=to`.
fn random_date(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    from + TimeDelta::days(rng.random_range(0..=(to - from).num_days().max(0)))
}

/// Age in whole years on `day`.
fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    let before_birthday = (day.month(), day.day()) < (birth.month(), birth.day());
    day.year() - birth.year() - i32::from(before_birthday)
}

/// A GeoJSON polygon for the rectangle between two corners (longitude, latitude).
fn rectangle(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!(
        "{{\"type\":\"Polygon\",\"coordinates\":[[[{x0:.5},{y0:.5}],[{x1:.5},{y0:.5}],\
         [{x1:.5},{y1:.5}],[{x0:.5},{y1:.5}],[{x0:.5},{y0:.5}]]]}}"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use std::collections::{HashMap, HashSet};

    use chrono::Timelike;
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{Database, DatabaseConnection, PaginatorTrait, QueryOrder};

    use super::*;
    use crate::validate::{validate_id_number, validate_mobile};

    async fn fresh_db() -> DatabaseConnection {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        db
    }

    #[test]
    fn constants_are_the_intended_instants() {
        assert_eq!(
            reference_instant().to_rfc3339(),
            "2026-11-30T16:00:00+00:00"
        );
        assert_eq!(
            china_midnight(YEAR_START).to_rfc3339(),
            "2025-12-31T16:00:00+00:00"
        );
        assert_ne!(BASE_DATE, NaiveDate::MIN);
        assert_eq!(age_on(ymd(1961, 12, 1), REFERENCE_DATE), 65);
        assert_eq!(age_on(ymd(1961, 12, 2), REFERENCE_DATE), 64);
    }

    #[tokio::test]
    async fn scale_one_has_the_promised_shape() {
        let db = fresh_db().await;
        let started = std::time::Instant::now();
        let summary = seed_demo(&db, 1, false).await.unwrap();
        eprintln!(
            "seed_demo(scale 1, SQLite in memory): {:?}, {summary:?}",
            started.elapsed()
        );

        // Counts, in the summary and in the tables.
        assert_eq!(summary.grids, 1 + 1 + 8 + 60);
        assert!((4_500..=5_500).contains(&summary.people), "{summary:?}");
        assert_eq!(summary.organizations, 22);
        assert_eq!(summary.services, 300);
        assert!(
            (8_000..=12_000).contains(&summary.participations),
            "{summary:?}"
        );
        assert!((300..=700).contains(&summary.memberships), "{summary:?}");
        assert_eq!(
            summary.grids,
            grid::Entity::find().count(&db).await.unwrap()
        );
        assert_eq!(
            summary.people,
            person::Entity::find().count(&db).await.unwrap()
        );
        assert_eq!(
            summary.services,
            service::Entity::find().count(&db).await.unwrap()
        );
        assert_eq!(
            summary.participations,
            participation::Entity::find().count(&db).await.unwrap()
        );
        assert_eq!(
            summary.memberships,
            membership::Entity::find().count(&db).await.unwrap()
        );
        assert_eq!(
            summary.assignments,
            grid_assignment::Entity::find().count(&db).await.unwrap()
        );

        // Hierarchy: codes, levels, names, paths.
        let grids = grid::Entity::find().all(&db).await.unwrap();
        let by_id: HashMap<Uuid, &grid::Model> = grids.iter().map(|g| (g.id, g)).collect();
        for g in &grids {
            match g.parent_id {
                None => {
                    assert_eq!(g.path, format!("/{}/", g.id));
                    assert_eq!((g.code.as_str(), g.name.as_str()), ("370685", "招远市"));
                    assert_eq!(g.level, GridLevel::District);
                }
                Some(parent) => {
                    let parent = by_id[&parent];
                    assert_eq!(g.path, format!("{}{}/", parent.path, g.id));
                    assert!(g.code.starts_with(&parent.code));
                    let level = match parent.level {
                        GridLevel::District => GridLevel::Street,
                        GridLevel::Street => GridLevel::Community,
                        _ => GridLevel::Grid,
                    };
                    assert_eq!(g.level, level);
                }
            }
            let ok = match g.level {
                GridLevel::District => g.code == "370685",
                GridLevel::Street => g.code == "370685001" && g.name == "泉山街道",
                GridLevel::Community => {
                    g.code.len() == 12
                        && ("370685001001"..="370685001008").contains(&g.code.as_str())
                }
                GridLevel::Grid => {
                    let (community, number) = g.code.split_once('-').unwrap();
                    community.len() == 12
                        && number.len() == 2
                        && number.parse::<u32>().unwrap() >= 1
                }
            };
            assert!(ok, "{} {:?}", g.code, g.level);
            if g.level == GridLevel::Grid {
                let boundary = g.boundary.as_deref().unwrap();
                assert!(boundary.starts_with("{\"type\":\"Polygon\""), "{boundary}");
            }
            assert_eq!(g.created_at.nanosecond() % 1_000, 0);
        }
        let count_level = |level| grids.iter().filter(|g| g.level == level).count();
        assert_eq!(count_level(GridLevel::Community), 8);
        assert_eq!(count_level(GridLevel::Grid), 60);

        // People: valid, consistent, unique personal data.
        let people = person::Entity::find().all(&db).await.unwrap();
        let reference = REFERENCE_DATE;
        let mut adults = 0;
        let mut adults_with_phone = 0;
        let mut phones = HashSet::new();
        for p in &people {
            let id_number = p.id_number.as_deref().unwrap();
            let info = validate_id_number(id_number).unwrap();
            assert!(id_number.starts_with("370685"));
            assert_eq!(Some(info.birth_date), p.birth_date);
            assert_eq!(Some(info.gender), p.gender);
            let birth = p.birth_date.unwrap();
            assert!((ymd(1935, 1, 1)..=ymd(2015, 12, 31)).contains(&birth));
            let age = age_on(birth, reference);
            if age >= 18 {
                adults += 1;
            }
            if let Some(phone) = &p.phone {
                validate_mobile(phone).unwrap();
                assert!(age >= 18);
                assert!(phones.insert(phone.clone()));
                adults_with_phone += 1;
            }
            let address = p.address.as_deref().unwrap();
            assert!(
                address.starts_with("泉山街道") && address.ends_with("单元"),
                "{address}"
            );
            assert!(by_id[&p.grid_id].level == GridLevel::Grid);
            assert!(p.name.chars().count() >= 2);
        }
        assert!(
            adults_with_phone * 10 > adults * 8,
            "{adults_with_phone}/{adults}"
        );

        // Tags: about 15% of people, elderly-living-alone only from 65.
        let people_by_id: HashMap<Uuid, &person::Model> =
            people.iter().map(|p| (p.id, p)).collect();
        let tags = person_tag::Entity::find().all(&db).await.unwrap();
        let mut kinds = HashSet::new();
        let mut tagged = HashSet::new();
        for t in &tags {
            let p = people_by_id[&t.person_id];
            if t.tag == PersonTagKind::ElderlyLivingAlone {
                assert!(age_on(p.birth_date.unwrap(), reference) >= 65);
            }
            kinds.insert(t.tag);
            tagged.insert(t.person_id);
        }
        assert_eq!(kinds.len(), 4);
        let share = tagged.len() as f64 / people.len() as f64;
        assert!((0.12..=0.18).contains(&share), "{share}");

        // Organisations.
        let orgs = organization::Entity::find().all(&db).await.unwrap();
        let org_kind: HashMap<Uuid, OrganizationKind> =
            orgs.iter().map(|o| (o.id, o.kind)).collect();
        let count_kind = |kind| orgs.iter().filter(|o| o.kind == kind).count();
        // The street's 10, and the 12 offices of the responsibility list: the 城管 squad, the
        // police station, 2 property companies (partners) and 8 residents' committees.
        assert!((11..=12).contains(&count_kind(OrganizationKind::Government)));
        assert!((4..=5).contains(&count_kind(OrganizationKind::VolunteerOrganization)));
        assert_eq!(count_kind(OrganizationKind::PartnerAgency), 4);
        assert_eq!(count_kind(OrganizationKind::CommunityGroup), 2);
        for o in &orgs {
            assert!(o.contact_name.is_some());
            validate_mobile(o.contact_phone.as_deref().unwrap()).unwrap();
        }

        // Memberships: several hundred volunteers.
        let memberships = membership::Entity::find().all(&db).await.unwrap();
        let member_of: HashSet<(Uuid, Uuid)> = memberships
            .iter()
            .map(|m| (m.person_id, m.organization_id))
            .collect();
        let volunteers: HashSet<Uuid> = memberships
            .iter()
            .filter(|m| org_kind[&m.organization_id] == OrganizationKind::VolunteerOrganization)
            .map(|m| m.person_id)
            .collect();
        assert!(volunteers.len() >= 250, "{}", volunteers.len());

        // Grid workers: one head per covered grid, coverage about 90%.
        let assignments = grid_assignment::Entity::find().all(&db).await.unwrap();
        let mut heads: HashMap<Uuid, usize> = HashMap::new();
        for a in &assignments {
            assert_eq!(by_id[&a.grid_id].level, GridLevel::Grid);
            *heads.entry(a.grid_id).or_default() += usize::from(a.role == GridWorkerRole::GridHead);
        }
        assert_eq!(heads.len(), 54);
        assert!(heads.values().all(|&h| h == 1));

        // Services.
        let services = service::Entity::find().all(&db).await.unwrap();
        let statuses: HashSet<_> = services.iter().map(|s| s.status).collect();
        let categories: HashSet<_> = services.iter().map(|s| s.category).collect();
        assert_eq!((statuses.len(), categories.len()), (5, 8));
        let mainstream = services
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    ServiceStatus::Completed | ServiceStatus::Published | ServiceStatus::InProgress
                )
            })
            .count();
        assert!(mainstream * 10 >= services.len() * 7);
        let year = china_midnight(YEAR_START)..china_midnight(ymd(2027, 1, 1));
        for s in &services {
            assert!(year.contains(&s.starts_at));
            let length = s.ends_at.unwrap() - s.starts_at;
            assert!((TimeDelta::hours(2)..=TimeDelta::hours(4)).contains(&length));
            assert!(s.capacity.is_none_or(|c| (20..=60).contains(&c)));
            assert!(org_kind.contains_key(&s.organizer_id));
            assert!(s.created_at <= s.updated_at && s.created_at < s.starts_at);
            assert!(s.created_at <= reference_instant() && s.updated_at <= reference_instant());
        }
        let capacity_share = services.iter().filter(|s| s.capacity.is_some()).count();
        assert!(capacity_share * 2 > services.len());

        // Participations: consistent with their service, capacity never exceeded.
        let service_by_id: HashMap<Uuid, &service::Model> =
            services.iter().map(|s| (s.id, s)).collect();
        let participations = participation::Entity::find().all(&db).await.unwrap();
        let mut active: HashMap<Uuid, i32> = HashMap::new();
        let mut pairs = HashSet::new();
        for p in &participations {
            let s = service_by_id[&p.service_id];
            assert!(pairs.insert((p.service_id, p.person_id)));
            assert!(p.registered_at < s.starts_at);
            assert!(p.registered_at >= s.created_at && p.updated_at >= p.registered_at);
            if p.status != ParticipationStatus::Cancelled {
                *active.entry(s.id).or_default() += 1;
            }
            match p.role {
                ParticipationRole::Volunteer => {
                    let org = p.organization_id.unwrap();
                    assert_eq!(org_kind[&org], OrganizationKind::VolunteerOrganization);
                    assert!(member_of.contains(&(p.person_id, org)));
                }
                ParticipationRole::Beneficiary => {
                    assert!(p.organization_id.is_none_or(|o| o == s.organizer_id));
                }
                ParticipationRole::Staff => assert_eq!(p.organization_id, Some(s.organizer_id)),
            }
            let allowed: &[ParticipationStatus] = match s.status {
                ServiceStatus::Draft => &[],
                ServiceStatus::Published => &[
                    ParticipationStatus::Registered,
                    ParticipationStatus::Cancelled,
                ],
                ServiceStatus::InProgress => &[
                    ParticipationStatus::Registered,
                    ParticipationStatus::CheckedIn,
                    ParticipationStatus::Completed,
                    ParticipationStatus::Cancelled,
                ],
                ServiceStatus::Completed => {
                    &[ParticipationStatus::Completed, ParticipationStatus::NoShow]
                }
                ServiceStatus::Cancelled => &[ParticipationStatus::Cancelled],
            };
            assert!(
                allowed.contains(&p.status),
                "{:?} in {:?}",
                p.status,
                s.status
            );
            match p.status {
                ParticipationStatus::Completed => {
                    let (checked_in, checked_out) =
                        (p.checked_in_at.unwrap(), p.checked_out_at.unwrap());
                    let elapsed = (checked_out - checked_in).num_minutes();
                    let minutes = i64::from(p.minutes.unwrap());
                    assert!(minutes > 0 && minutes <= elapsed, "{minutes} > {elapsed}");
                    assert!(checked_out <= reference_instant());
                }
                ParticipationStatus::CheckedIn => {
                    assert!(p.checked_in_at.is_some() && p.checked_out_at.is_none());
                    assert!(p.minutes.is_none());
                }
                _ => {
                    assert!(p.checked_in_at.is_none() && p.checked_out_at.is_none());
                    assert!(p.minutes.is_none());
                }
            }
            for t in [p.created_at, p.registered_at, p.updated_at] {
                assert_eq!(t.nanosecond() % 1_000, 0);
                assert!(t <= reference_instant());
            }
        }
        for s in &services {
            let n = active.get(&s.id).copied().unwrap_or(0);
            if let Some(capacity) = s.capacity {
                assert!(n <= capacity, "{} > {capacity}", n);
            }
        }
        let volunteer_participations = participations
            .iter()
            .filter(|p| p.role == ParticipationRole::Volunteer)
            .count();
        assert!(volunteer_participations > 1_000);
    }

    /// Everything that identifies the data: ids, personal data, links and states.
    async fn digest(db: &DatabaseConnection) -> Vec<String> {
        let mut rows = Vec::new();
        for g in grid::Entity::find()
            .order_by_asc(grid::Column::Id)
            .all(db)
            .await
            .unwrap()
        {
            rows.push(format!("{} {} {} {}", g.id, g.code, g.path, g.created_at));
        }
        for p in person::Entity::find()
            .order_by_asc(person::Column::Id)
            .all(db)
            .await
            .unwrap()
        {
            rows.push(format!(
                "{} {} {:?} {:?} {:?}",
                p.id, p.name, p.id_number, p.phone, p.address
            ));
        }
        for p in participation::Entity::find()
            .order_by_asc(participation::Column::Id)
            .all(db)
            .await
            .unwrap()
        {
            rows.push(format!(
                "{} {} {} {:?} {:?} {}",
                p.id, p.service_id, p.person_id, p.status, p.minutes, p.registered_at
            ));
        }
        for i in incident::Entity::find()
            .order_by_asc(incident::Column::Id)
            .all(db)
            .await
            .unwrap()
        {
            rows.push(format!(
                "{} {} {} {:?} {} {} {:?}",
                i.id,
                i.title,
                i.grid_id,
                i.status,
                i.created_at,
                i.version,
                i.assignee_organization_id
            ));
        }
        rows
    }

    #[tokio::test]
    async fn seeding_is_deterministic_and_skips_existing_data() {
        let (first, second) = (fresh_db().await, fresh_db().await);
        let a = seed_demo(&first, 1, false).await.unwrap();
        let b = seed_demo(&second, 1, false).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(digest(&first).await, digest(&second).await);

        // A second run finds the root and writes nothing.
        assert_eq!(
            seed_demo(&first, 1, false).await.unwrap(),
            SeedSummary::default()
        );
        assert_eq!(grid::Entity::find().count(&first).await.unwrap(), a.grids);

        assert!(seed_demo(&first, 0, false).await.is_err());
    }

    #[tokio::test]
    async fn larger_scales_replicate_streets_with_unique_codes() {
        let db = fresh_db().await;
        let summary = seed_demo(&db, 2, false).await.unwrap();
        assert_eq!(summary.grids, 1 + 2 * (1 + 8 + 60));
        assert_eq!(summary.organizations, 44);
        assert_eq!(
            summary.incidents,
            2 * incidents::INCIDENTS_PER_STREET as u64
        );
        assert_eq!(summary.services, 600);
        let streets: Vec<String> = grid::Entity::find()
            .filter(grid::Column::Level.eq(GridLevel::Street))
            .order_by_asc(grid::Column::Code)
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.code)
            .collect();
        assert_eq!(streets, ["370685001", "370685002"]);
        // Street 1 is the same at every scale.
        let single = fresh_db().await;
        seed_demo(&single, 1, false).await.unwrap();
        let first_street = |db: &DatabaseConnection| {
            let db = db.clone();
            async move {
                person::Entity::find()
                    .filter(person::Column::Address.starts_with("泉山街道"))
                    .order_by_asc(person::Column::IdNumber)
                    .all(&db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|p| (p.name, p.id_number))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(first_street(&db).await, first_street(&single).await);
    }
}
