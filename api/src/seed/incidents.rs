//! Demo incidents (事件): each street's responsibility list (权责清单) with the offices it names
//! that the rest of the data set lacks, and a year of incidents with their full history.
//!
//! Offices: per street a 城管 squad (综合行政执法中队), a police station (派出所), two property
//! management companies (物业, each serving four communities) and one residents' committee
//! (居委会) per community. The list has a line per top-level category at the street and at each
//! community (plus a few subcategories at both levels), and grid-level lines that hand some
//! categories to the grid head or to the other property company, so that "the most specific
//! grid wins" shows in the routing.
//!
//! Incidents: [`INCIDENTS_PER_STREET`] per street over the 365 days before the reference
//! instant, most of them closed (a tenth of those late), the rest in every other status, about
//! a third of the unfinished ones past a deadline. Each history is a sequence of the store's
//! life-cycle [`Step`]s, each checked against [`Step::rule`] and applied as
//! `store::incident::transition` applies it (deadlines, escalation to the parent grid, routing
//! by the list); the incident's `version` is the number of its events, and every event's
//! `position` is the version after it. Every street draws from a random stream of its own
//! (`INCIDENT_STREAMS` + street index), so the rest of the data set does not depend on it.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use entity::{
    Gender, IncidentEventKind as Kind, IncidentSeverity as Sev, IncidentSource as Src,
    IncidentStatus as S, OrganizationKind, grid, incident, incident_category, incident_event,
    organization, responsibility,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait, QueryOrder};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{Generator, SEED, Street, StreetRows, pick_weighted, reference_instant};
use crate::store::incident::{Assignee, REOPEN_WINDOW_DAYS, Step};

/// Incidents per street (so about 5,000 at scale 1).
pub const INCIDENTS_PER_STREET: usize = 5_000;

/// The incidents are reported in this many days before the reference instant.
const SPAN_DAYS: i64 = 365;

/// `reporter_credential` of the seeded incidents and actor of every event of their histories.
pub const SEED_ACTOR: &str = "seed:demo";

/// Random stream of street 0's incidents; street `i` uses this plus `i`.
const INCIDENT_STREAMS: u64 = 1 << 32;

/// The categories as the database has them (the migration's taxonomy), ordered by code.
pub(super) async fn categories(
    txn: &DatabaseTransaction,
) -> Result<Vec<incident_category::Model>, DbErr> {
    incident_category::Entity::find()
        .order_by_asc(incident_category::Column::Code)
        .all(txn)
        .await
}

/// Relative frequency of each standard category (per mille, roughly what a street's platform
/// receives); categories not listed here get no demo incidents.
const WEIGHTS: [(&str, u32); 22] = [
    ("CITY", 10),
    ("CITY_STREETLIGHT", 90),
    ("CITY_ROAD", 60),
    ("CITY_PARKING", 110),
    ("CITY_FIRE_LANE", 45),
    ("DISPUTE", 5),
    ("DISPUTE_NEIGHBOUR", 70),
    ("DISPUTE_PROPERTY", 45),
    ("DISPUTE_FAMILY", 25),
    ("SAFETY", 8),
    ("SAFETY_FIRE", 40),
    ("SAFETY_BUILDING", 15),
    ("SAFETY_GAS", 15),
    ("LIVELIHOOD", 10),
    ("LIVELIHOOD_ELDERLY", 35),
    ("LIVELIHOOD_UTILITIES", 60),
    ("SANITATION", 10),
    ("SANITATION_WASTE", 150),
    ("SANITATION_NOISE", 90),
    ("EPIDEMIC", 2),
    ("EPIDEMIC_LEAD", 8),
    ("EPIDEMIC_QUARANTINE", 7),
];

/// Texts of a category: reports (title and description) and the handler's notes on
/// resolution. `{b}` is the building number, `{place}` the place in the community, `{n}` a
/// small number in words.
struct Texts {
    code: &'static str,
    reports: &'static [(&'static str, &'static str)],
    resolutions: &'static [&'static str],
    /// Reported from inside a home (an address down to the unit) rather than outdoors.
    indoor: bool,
}

const fn texts(
    code: &'static str,
    reports: &'static [(&'static str, &'static str)],
    resolutions: &'static [&'static str],
    indoor: bool,
) -> Texts {
    Texts {
        code,
        reports,
        resolutions,
        indoor,
    }
}

const TEXTS: [Texts; 22] = [
    texts(
        "CITY",
        &[
            (
                "公共设施损坏",
                "{place}的公共健身器材损坏，影响居民正常使用，请尽快处理。",
            ),
            (
                "{b}号楼附近井盖松动",
                "居民反映{place}井盖松动，车辆经过时响声很大，存在安全隐患。",
            ),
            (
                "小区宣传栏破损",
                "{place}的宣传栏玻璃破碎，碎片散落在地上。",
            ),
        ],
        &["已联系相关单位完成维修。", "已更换井盖并加固。"],
        false,
    ),
    texts(
        "CITY_STREETLIGHT",
        &[
            (
                "{b}号楼前路灯不亮",
                "{place}的路灯已连续{n}晚不亮，夜间居民出行不便，老人担心摔倒。",
            ),
            (
                "小区主干道路灯损坏",
                "{place}有{n}盏路灯损坏，晚上一片漆黑。",
            ),
            ("路灯白天常亮", "{place}的路灯白天一直亮着，浪费电。"),
            (
                "路灯杆倾斜",
                "{place}路灯杆被车辆刮碰后倾斜，存在倒伏风险。",
            ),
        ],
        &["已更换灯具，恢复照明。", "线路故障已排除，路灯恢复正常。"],
        false,
    ),
    texts(
        "CITY_ROAD",
        &[
            (
                "{b}号楼门前路面坑洼",
                "{place}路面出现{n}处坑洼，雨天积水，行人和电动车通行困难。",
            ),
            (
                "人行道地砖松动",
                "{place}人行道地砖松动翘起，已有老人绊倒。",
            ),
            ("小区道路局部塌陷", "{place}道路局部塌陷，约有半米见方。"),
            ("路沿石破损", "{place}路沿石破损缺失，夜间容易崴脚。"),
        ],
        &["已完成路面修补。", "已重新铺设松动地砖。"],
        false,
    ),
    texts(
        "CITY_PARKING",
        &[
            (
                "车辆长期占用人行道",
                "{place}有车辆长期停放在人行道上，行人只能绕行到机动车道。",
            ),
            (
                "{b}号楼单元门口乱停车",
                "{place}单元门口被私家车堵住，老人和婴儿车无法通行。",
            ),
            (
                "僵尸车长期占用车位",
                "{place}一辆无牌车辆停放超过{n}个月，落满灰尘。",
            ),
            (
                "路口违停影响通行",
                "{place}路口两侧停满车辆，早晚高峰经常堵塞。",
            ),
        ],
        &["已联系车主挪车并进行教育。", "已张贴告知书，车辆已移走。"],
        false,
    ),
    texts(
        "CITY_FIRE_LANE",
        &[
            (
                "消防通道被车辆堵塞",
                "{place}消防通道被{n}辆私家车长期占用，一旦发生火情消防车无法进入。",
            ),
            (
                "{b}号楼消防通道堆放杂物",
                "{place}消防通道内堆满杂物和废旧家具。",
            ),
            (
                "消防车通道被地锁占用",
                "{place}消防车通道上被人安装了{n}个地锁。",
            ),
        ],
        &[
            "已清理消防通道，并设置禁停标识。",
            "已通知车主挪车，物业加强巡查。",
        ],
        false,
    ),
    texts(
        "DISPUTE",
        &[
            (
                "居民之间发生纠纷",
                "{place}居民之间因琐事发生争执，双方情绪激动，需要调解。",
            ),
            (
                "商户与居民发生纠纷",
                "{place}楼下商户的油烟和噪音引起居民不满，双方发生争执。",
            ),
        ],
        &["经调解双方达成一致。"],
        true,
    ),
    texts(
        "DISPUTE_NEIGHBOUR",
        &[
            (
                "楼上漏水引发邻里纠纷",
                "{place}楼上住户卫生间漏水，楼下住户多次协商未果，双方发生争吵。",
            ),
            (
                "邻居占用公共楼道",
                "{place}有住户在公共楼道堆放物品、安装鞋柜，邻居意见很大。",
            ),
            (
                "宠物扰邻引发矛盾",
                "{place}住户饲养的犬只夜间吠叫，邻居多次沟通无果。",
            ),
        ],
        &[
            "网格员和调解员上门调解，双方签订调解协议。",
            "经调解，占用楼道的物品已清理。",
        ],
        true,
    ),
    texts(
        "DISPUTE_PROPERTY",
        &[
            (
                "物业费收费争议",
                "{place}业主对物业费上涨有异议，多名业主拒交物业费。",
            ),
            (
                "电梯长期故障物业不维修",
                "{place}电梯故障已{n}天，物业迟迟不维修，老人上下楼困难。",
            ),
            (
                "业主与物业停车费纠纷",
                "{place}业主与物业就停车收费标准发生争议。",
            ),
        ],
        &[
            "组织业主代表与物业协商，达成一致意见。",
            "物业已完成电梯维修并公示维保记录。",
        ],
        true,
    ),
    texts(
        "DISPUTE_FAMILY",
        &[
            (
                "家庭成员赡养纠纷",
                "{place}一户子女之间因老人赡养问题发生争执，老人求助。",
            ),
            (
                "夫妻矛盾需要调解",
                "{place}一户夫妻因家庭琐事多次争吵，邻居担心发生意外。",
            ),
            (
                "遗产分割引发家庭纠纷",
                "{place}一户兄弟姐妹因房产分割发生矛盾，多次争吵。",
            ),
        ],
        &[
            "社区和司法所联合调解，签订赡养协议。",
            "经耐心调解，双方情绪稳定，社区持续关注。",
        ],
        true,
    ),
    texts(
        "SAFETY",
        &[
            (
                "公共区域安全隐患",
                "{place}存在安全隐患，请相关部门尽快排查。",
            ),
            (
                "围墙存在倒塌风险",
                "{place}附近围墙出现裂缝并向外倾斜，存在倒塌风险。",
            ),
        ],
        &["已设置警示标志并完成整改。"],
        false,
    ),
    texts(
        "SAFETY_FIRE",
        &[
            (
                "楼道内电动车充电",
                "{place}有住户将电动车推进楼道充电，存在火灾隐患。",
            ),
            (
                "私拉电线给电动车充电",
                "{place}有住户从窗户私拉电线给楼下电动车充电。",
            ),
            ("楼道堆放易燃物", "{place}楼道内堆放纸箱等易燃物品。"),
            ("灭火器过期", "{place}消防箱内的灭火器已过期{n}年。"),
        ],
        &[
            "已劝导住户将电动车移至集中充电区。",
            "已拆除私拉电线并进行消防安全教育。",
        ],
        true,
    ),
    texts(
        "SAFETY_BUILDING",
        &[
            (
                "{b}号楼外墙瓷砖脱落",
                "{place}外墙瓷砖脱落，下方是居民出入通道，存在砸伤风险。",
            ),
            (
                "房屋墙体出现裂缝",
                "{place}墙体出现多条裂缝，居民担心房屋安全。",
            ),
            (
                "阳台护栏锈蚀松动",
                "{place}阳台护栏锈蚀松动，家中有小孩，存在坠落风险。",
            ),
        ],
        &[
            "已设置警戒区域，专业单位完成外墙修复。",
            "经房屋安全鉴定，已完成加固处理。",
        ],
        true,
    ),
    texts(
        "SAFETY_GAS",
        &[
            (
                "楼道内闻到燃气味",
                "{place}居民反映楼道内有明显燃气味，担心泄漏。",
            ),
            ("燃气管道锈蚀", "{place}户外燃气管道锈蚀严重。"),
            (
                "餐饮店违规使用液化气",
                "{place}附近一家餐饮店在室内违规使用液化气罐。",
            ),
        ],
        &[
            "燃气公司已上门检修，排除泄漏点。",
            "已督促商户整改，停止使用液化气罐。",
        ],
        true,
    ),
    texts(
        "LIVELIHOOD",
        &[
            (
                "居民生活困难求助",
                "{place}一户居民生活困难，希望了解救助政策。",
            ),
            (
                "惠民政策咨询",
                "{place}居民咨询高龄补贴的申领条件和办理流程。",
            ),
        ],
        &["已上门走访并协助办理相关手续。"],
        true,
    ),
    texts(
        "LIVELIHOOD_ELDERLY",
        &[
            (
                "独居老人多日未出门",
                "{place}独居老人已{n}天未见出门，敲门无人应答，邻居担心。",
            ),
            (
                "独居老人电话无人接听",
                "{place}独居老人的子女在外地，连续两天联系不上老人，请求上门查看。",
            ),
            (
                "高龄老人身体不适需帮助",
                "{place}高龄老人身体不适，家中无人照顾，需要帮助就医。",
            ),
        ],
        &[
            "网格员上门查看，老人身体无碍，已联系家属。",
            "已陪同老人就医，并安排志愿者定期探访。",
        ],
        true,
    ),
    texts(
        "LIVELIHOOD_UTILITIES",
        &[
            (
                "{b}号楼突然停水",
                "{place}从今天早上开始停水，事先没有接到通知。",
            ),
            (
                "小区停电",
                "{place}整栋楼停电{n}个小时，冰箱里的食物担心变质。",
            ),
            ("暖气不热", "{place}暖气片温度偏低，室内温度不足十八度。"),
            ("水压过低", "{place}自来水水压过低，高层住户用水困难。"),
        ],
        &[
            "供水单位已抢修管道，恢复供水。",
            "供电公司已更换故障设备，恢复供电。",
            "热力公司已排气调试，室温达标。",
        ],
        true,
    ),
    texts(
        "SANITATION",
        &[
            (
                "公共区域卫生脏乱",
                "{place}卫生状况较差，影响居民生活环境。",
            ),
            ("绿化带杂草丛生", "{place}绿化带杂草丛生，长期无人修剪。"),
        ],
        &["已组织保洁人员清扫。"],
        false,
    ),
    texts(
        "SANITATION_WASTE",
        &[
            (
                "垃圾桶满溢未及时清运",
                "{place}垃圾桶已满溢{n}天未清运，气味很大。",
            ),
            (
                "{b}号楼旁堆放建筑垃圾",
                "{place}有住户装修后将建筑垃圾堆在路边。",
            ),
            ("楼道堆放杂物", "{place}楼道内堆放大量杂物和废旧家具。"),
            (
                "小区绿地被堆放垃圾",
                "{place}绿地上被人堆放了生活垃圾和废旧家具。",
            ),
        ],
        &["已安排清运车辆清理完毕。", "已督促装修户清运建筑垃圾。"],
        false,
    ),
    texts(
        "SANITATION_NOISE",
        &[
            (
                "夜间施工噪音扰民",
                "{place}附近工地晚上十点后仍在施工，噪音很大，影响居民休息。",
            ),
            (
                "广场舞音响声音过大",
                "{place}广场舞音响音量过大，持续到晚上九点半以后。",
            ),
            (
                "商铺音响扰民",
                "{place}附近一家商铺门口的音响整天播放促销广告。",
            ),
            (
                "装修噪音扰民",
                "{place}附近住户装修，周末一早就开始电钻作业。",
            ),
        ],
        &[
            "已责令施工单位停止夜间施工。",
            "经协调，广场舞音量已降低并缩短时间。",
        ],
        false,
    ),
    texts(
        "EPIDEMIC",
        &[(
            "疫情防控问题反映",
            "{place}居民反映附近场所疫情防控措施落实不到位。",
        )],
        &["已督促相关场所落实防控措施。"],
        true,
    ),
    texts(
        "EPIDEMIC_LEAD",
        &[
            (
                "外地返乡人员未报备",
                "{place}有从外地返回的人员未按要求报备。",
            ),
            ("发热人员线索", "{place}有居民出现发热症状，未到医院就诊。"),
        ],
        &[
            "已联系当事人完成报备和健康监测。",
            "已引导当事人到发热门诊就诊。",
        ],
        true,
    ),
    texts(
        "EPIDEMIC_QUARANTINE",
        &[
            (
                "居家隔离人员生活物资需求",
                "{place}居家隔离人员家中缺少生活物资，需要代购。",
            ),
            ("居家隔离人员就医需求", "{place}居家隔离老人需要定期取药。"),
        ],
        &["志愿者已代购物资送到门口。", "已协调家庭医生上门服务。"],
        true,
    ),
];

const NUMBERS: [&str; 4] = ["两", "三", "四", "五"];
const SIDES: [&str; 5] = ["东侧", "西侧", "南侧", "北侧", "门前"];
const ROADS: [&str; 8] = [
    "温泉路",
    "金城路",
    "府前路",
    "罗峰路",
    "玲珑路",
    "魁星路",
    "泉山路",
    "北关路",
];
const PROPERTY_COMPANIES: [&str; 8] = [
    "金都", "鑫泰", "华安", "恒信", "德馨", "瑞丰", "金桥", "天和",
];

const REJECT_REASONS: [&str; 4] = [
    "重复上报，已并入同一事件办理",
    "不属于本平台受理范围，已告知反映人向相关部门反映",
    "信息不全，多次联系反映人未果，无法核实",
    "经现场核实，反映的问题不存在",
];
const ESCALATE_REASONS: [&str; 4] = [
    "超出网格处置能力，需社区协调",
    "涉及多个部门，需上级统筹（吹哨报到）",
    "当事人拒不配合，需上级介入",
    "需专业力量处置",
];
const REOPEN_NOTES: [&str; 3] = [
    "反映人回访时表示问题仍未解决",
    "问题复发，居民再次反映",
    "核查发现整改不到位",
];

/// Final statuses with their weights (per mille); CLOSED covers the on-the-spot closures.
const FATES: [(S, u32); 10] = [
    (S::Closed, 740),
    (S::Rejected, 50),
    (S::Reported, 20),
    (S::Accepted, 15),
    (S::Dispatched, 25),
    (S::InProgress, 50),
    (S::Resolved, 30),
    (S::Verified, 20),
    (S::Reopened, 15),
    (S::Escalated, 35),
];

/// Reporting channels with their weights (per cent).
const SOURCES: [(Src, u32); 5] = [
    (Src::GridWorker, 38),
    (Src::Hotline, 27),
    (Src::Portal, 20),
    (Src::Open311, 8),
    (Src::Partner, 7),
];

/// Satisfaction 1–5, weights when closed on time and when closed late.
const SATISFACTION: [[u32; 5]; 2] = [[2, 3, 8, 30, 57], [8, 12, 25, 30, 25]];

/// The offices of one street, by role; indices into `IncidentStreet::orgs`.
struct Offices {
    office: Uuid,
    /// 综合治理中心, or the office where the street has none.
    zongzhi: Uuid,
    health: Uuid,
    civil: Uuid,
    chengguan: Uuid,
    police: Uuid,
    /// The two property companies; community `c` is served by `property[c / 4]`.
    property: [Uuid; 2],
    /// The residents' committee of each community.
    committee: Vec<Uuid>,
}

/// One line of the list as routing needs it.
struct Line {
    grid: Uuid,
    category: Uuid,
    assignee: Assignee,
}

/// What generating the street's incidents needs to know.
struct Ctx<'a> {
    street: &'a Street,
    categories: &'a [incident_category::Model],
    /// Grid id → ids on its path, root first.
    paths: HashMap<Uuid, Vec<Uuid>>,
    lines: Vec<Line>,
    offices: Offices,
}

impl Ctx<'_> {
    fn category(&self, id: Uuid) -> Option<&incident_category::Model> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// `store::incident::route` over the street's lines: the deepest grid on the path wins,
    /// then the most specific category.
    fn route(&self, grid: Uuid, category: Uuid) -> Option<Assignee> {
        let path = self.paths.get(&grid)?;
        let mut chain = vec![category];
        let mut parent = self.category(category).and_then(|c| c.parent_id);
        while let Some(p) = parent {
            if chain.len() >= 8 || chain.contains(&p) {
                break;
            }
            chain.push(p);
            parent = self.category(p).and_then(|c| c.parent_id);
        }
        self.lines
            .iter()
            .filter_map(|l| {
                let depth = path.iter().position(|g| *g == l.grid)?;
                let specific = chain.len() - chain.iter().position(|c| *c == l.category)?;
                Some(((depth, specific), l.assignee))
            })
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, a)| a)
    }

    /// The parent of `grid` (the grid an escalation hands the incident to).
    fn parent(&self, grid: Uuid) -> Option<Uuid> {
        let path = self.paths.get(&grid)?;
        (path.len() >= 2).then(|| path[path.len() - 2])
    }
}

fn assignee_json(a: Assignee) -> Json {
    match a {
        Assignee::Person(p) => json!({ "person": p }),
        Assignee::Organization(o) => json!({ "organization": o }),
    }
}

fn set_assignee(m: &mut incident::Model, a: Option<Assignee>) {
    let (p, o) = match a {
        Some(Assignee::Person(p)) => (Some(p), None),
        Some(Assignee::Organization(o)) => (None, Some(o)),
        None => (None, None),
    };
    m.assignee_person_id = p;
    m.assignee_organization_id = o;
}

fn kind(step: &Step) -> Kind {
    match step {
        Step::Accept => Kind::Accepted,
        Step::Reject { .. } => Kind::Rejected,
        Step::Dispatch { .. } => Kind::Dispatched,
        Step::Start => Kind::Started,
        Step::Resolve => Kind::Resolved,
        Step::Verify => Kind::Verified,
        Step::Close => Kind::Closed,
        Step::Reopen => Kind::Reopened,
        Step::Escalate { .. } => Kind::Escalated,
        Step::Rate { .. } => Kind::Rated,
    }
}

fn hours(h: f64) -> TimeDelta {
    TimeDelta::seconds((h * 3600.0).round() as i64)
}

fn seed_err(message: String) -> DbErr {
    DbErr::Custom(format!("seed: {message}"))
}

/// One planned step: what, how many hours after the report, and the handler's note.
type Planned = (Step, f64, Option<String>);

/// The regular flow after acceptance, from a start instant (hours after the report) at which
/// the deadlines run (the report or an escalation): accept, dispatch, start, resolve, verify,
/// close, the last one `total` hours after `start`. `accept` hours after `start` the incident
/// is accepted.
fn regular_flow(
    rng: &mut ChaCha8Rng,
    start: f64,
    accept: f64,
    total: f64,
    resolution: Option<String>,
) -> Vec<Planned> {
    let rest = (total - accept).max(0.5);
    let dispatch = accept + rest * rng.random_range(0.01..0.05);
    let started = dispatch + rest * rng.random_range(0.03..0.12);
    let close = accept + rest;
    let verify = close - rest * rng.random_range(0.01..0.05);
    let resolve = verify - rest * rng.random_range(0.02..0.08);
    vec![
        (Step::Accept, start + accept, None),
        (Step::Dispatch { assignee: None }, start + dispatch, None),
        (Step::Start, start + started, None),
        (Step::Resolve, start + resolve, resolution),
        (Step::Verify, start + verify, None),
        (Step::Close, start + close, None),
    ]
}

/// Hours to acceptance: within the category's limit nine times in ten.
fn accept_delay(rng: &mut ChaCha8Rng, limit: f64) -> f64 {
    if rng.random_bool(0.9) {
        limit * rng.random_range(0.05..0.9)
    } else {
        limit * rng.random_range(1.05..2.5)
    }
}

/// Hours from the start of a flow to its closure: on time, or past the deadline.
fn close_delay(rng: &mut ChaCha8Rng, accept: f64, limit: f64, late: bool) -> f64 {
    if late {
        limit * rng.random_range(1.04..1.8)
    } else {
        let low = (accept / limit + 0.1).min(0.9);
        limit * rng.random_range(low..0.97)
    }
}

/// Index of the step after which an incident has `status` in the regular flow.
fn flow_len(status: S) -> usize {
    match status {
        S::Accepted => 1,
        S::Dispatched => 2,
        S::InProgress => 3,
        S::Resolved => 4,
        S::Verified => 5,
        _ => 6,
    }
}

impl Generator {
    /// The street's offices, responsibility list and incidents.
    pub(super) fn incidents(
        &mut self,
        index: u32,
        root: &grid::Model,
        street: &Street,
        categories: &[incident_category::Model],
        rows: &mut StreetRows,
    ) -> Result<(), DbErr> {
        if categories.is_empty() {
            return Ok(());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        rng.set_stream(INCIDENT_STREAMS + u64::from(index));
        let offices = self.offices(&mut rng, index, street, rows)?;
        let mut paths: HashMap<Uuid, Vec<Uuid>> = rows
            .grids
            .iter()
            .map(|g| {
                let ids = g
                    .path
                    .split('/')
                    .filter_map(|s| Uuid::parse_str(s).ok())
                    .collect();
                (g.id, ids)
            })
            .collect();
        paths.insert(root.id, vec![root.id]);
        let mut ctx = Ctx {
            street,
            categories,
            paths,
            lines: Vec::new(),
            offices,
        };
        self.responsibilities(&mut rng, &mut ctx, rows);

        let weights: Vec<u32> = categories
            .iter()
            .map(|c| {
                WEIGHTS
                    .iter()
                    .find(|(code, _)| *code == c.code)
                    .map_or(0, |(_, w)| *w)
            })
            .collect();
        if weights.iter().all(|&w| w == 0) {
            return Ok(());
        }
        rows.incidents.reserve(INCIDENTS_PER_STREET);
        rows.incident_events.reserve(INCIDENTS_PER_STREET * 7);
        for _ in 0..INCIDENTS_PER_STREET {
            let category = &categories[pick_weighted(&mut rng, &weights)];
            self.incident(&mut rng, &ctx, category, rows)?;
        }
        Ok(())
    }

    /// The offices the list names that the street lacks, written as organisations; with the
    /// street's own office, centre and the two agencies' teams.
    fn offices(
        &mut self,
        rng: &mut ChaCha8Rng,
        index: u32,
        street: &Street,
        rows: &mut StreetRows,
    ) -> Result<Offices, DbErr> {
        let own = |slug: &str| street.orgs.iter().find(|o| o.slug == slug).map(|o| o.id);
        let office = own("office").ok_or_else(|| seed_err("a street without its office".into()))?;
        let mut new = |generator: &mut Generator,
                       rng: &mut ChaCha8Rng,
                       name: String,
                       kind: OrganizationKind,
                       slug: String|
         -> Result<Uuid, DbErr> {
            let (id, at) = generator.next_id();
            let gender = if rng.random_bool(0.5) {
                Gender::Male
            } else {
                Gender::Female
            };
            let born = rng.random_range(1965..=1995);
            let contact = generator.name(rng, gender, born);
            let phone = generator.phone(rng)?;
            rows.organizations.push(organization::Model {
                id,
                name,
                kind,
                contact_name: Some(contact),
                contact_phone: Some(phone),
                contact_email: Some(format!("{slug}.{}@example.org", street.code)),
                created_at: at,
                updated_at: at,
                version: 1,
            });
            Ok(id)
        };
        let s = &street.name;
        let chengguan = new(
            self,
            rng,
            format!("招远市综合行政执法局{s}中队"),
            OrganizationKind::Government,
            "chengguan".into(),
        )?;
        let police = new(
            self,
            rng,
            format!("招远市公安局{s}派出所"),
            OrganizationKind::Government,
            "paichusuo".into(),
        )?;
        let mut property = [Uuid::nil(); 2];
        for (k, p) in property.iter_mut().enumerate() {
            let stem = PROPERTY_COMPANIES[(2 * index as usize + k) % PROPERTY_COMPANIES.len()];
            *p = new(
                self,
                rng,
                format!("招远市{stem}物业服务有限公司{s}项目部"),
                OrganizationKind::PartnerAgency,
                format!("wuye{}", k + 1),
            )?;
        }
        let mut committee = Vec::with_capacity(street.communities.len());
        for (c, community) in street.communities.iter().enumerate() {
            committee.push(new(
                self,
                rng,
                format!("{}居民委员会", community.name),
                OrganizationKind::Government,
                format!("jwh{}", c + 1),
            )?);
        }
        Ok(Offices {
            office,
            zongzhi: own("zongzhi").unwrap_or(office),
            health: own("weijian").unwrap_or(office),
            civil: own("minzheng").unwrap_or(office),
            chengguan,
            police,
            property,
            committee,
        })
    }

    /// The street's list: its own lines, each community's, and the grid-level overrides.
    fn responsibilities(&mut self, rng: &mut ChaCha8Rng, ctx: &mut Ctx, rows: &mut StreetRows) {
        let o = &ctx.offices;
        let street_id = rows.grids[0].id;
        let mut planned: Vec<(Uuid, &str, Assignee, &str)> = Vec::new();
        let org = Assignee::Organization;
        for (code, who) in [
            ("CITY", o.chengguan),
            ("DISPUTE", o.zongzhi),
            ("SAFETY", o.office),
            ("LIVELIHOOD", o.civil),
            ("SANITATION", o.chengguan),
            ("EPIDEMIC", o.health),
            ("CITY_PARKING", o.police),
            ("SAFETY_FIRE", o.police),
            ("SANITATION_NOISE", o.police),
        ] {
            planned.push((street_id, code, org(who), "街道权责清单"));
        }
        // Communities are the rows after the street, in order.
        let communities: Vec<Uuid> = rows
            .grids
            .iter()
            .filter(|g| g.level == entity::GridLevel::Community)
            .map(|g| g.id)
            .collect();
        for (c, &community) in communities.iter().enumerate() {
            let committee = o.committee.get(c).copied().unwrap_or(o.office);
            let property = o.property[(c / 4).min(1)];
            for (code, who, note) in [
                ("CITY", property, "小区内由物业负责"),
                ("DISPUTE", committee, "社区人民调解委员会"),
                ("SAFETY", committee, "社区权责清单"),
                ("LIVELIHOOD", committee, "社区权责清单"),
                ("SANITATION", property, "小区内由物业负责"),
                ("EPIDEMIC", committee, "社区权责清单"),
                ("CITY_ROAD", o.chengguan, "市政道路"),
                ("CITY_PARKING", o.police, "社区权责清单"),
                ("CITY_FIRE_LANE", o.police, "消防监督"),
                ("SAFETY_FIRE", o.police, "消防监督"),
                ("SAFETY_GAS", o.office, "街道应急办统一调度"),
                ("SAFETY_BUILDING", o.office, "街道应急办统一调度"),
                ("SANITATION_NOISE", o.police, "社会生活噪声"),
                ("EPIDEMIC_LEAD", o.health, "社区权责清单"),
            ] {
                planned.push((community, code, org(who), note));
            }
        }
        // Grid heads who take some matters themselves; compounds of the other company.
        for grid in &ctx.street.grids {
            let Some(&head) = grid.workers.first() else {
                continue;
            };
            let head = Assignee::Person(ctx.street.residents[head].id);
            if rng.random_bool(0.3) {
                planned.push((grid.id, "LIVELIHOOD_ELDERLY", head, "网格长包户探访"));
            }
            if rng.random_bool(0.2) {
                planned.push((grid.id, "DISPUTE_NEIGHBOUR", head, "网格长先行调解"));
            }
            if rng.random_bool(0.1) {
                let other = o.property[1 - (grid.community / 4).min(1)];
                planned.push((grid.id, "CITY", org(other), "本网格小区由另一家物业管理"));
                planned.push((
                    grid.id,
                    "SANITATION",
                    org(other),
                    "本网格小区由另一家物业管理",
                ));
            }
        }
        for (grid_id, code, assignee, note) in planned {
            let Some(category) = ctx.categories.iter().find(|c| c.code == code) else {
                continue;
            };
            let (person_id, organization_id) = match assignee {
                Assignee::Person(p) => (Some(p), None),
                Assignee::Organization(o) => (None, Some(o)),
            };
            let (id, at) = self.next_id();
            rows.responsibilities.push(responsibility::Model {
                id,
                grid_id,
                category_id: category.id,
                organization_id,
                person_id,
                note: Some(note.to_owned()),
                created_at: at,
                updated_at: at,
                version: 1,
            });
            ctx.lines.push(Line {
                grid: grid_id,
                category: category.id,
                assignee,
            });
        }
    }

    /// One incident with its history.
    fn incident(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &Ctx,
        category: &incident_category::Model,
        rows: &mut StreetRows,
    ) -> Result<(), DbErr> {
        let street = ctx.street;
        let g = rng.random_range(0..street.grids.len());
        let grid = &street.grids[g];
        let community = &street.communities[grid.community];
        let texts = TEXTS.iter().find(|t| t.code == category.code);

        // Severity: the category's default four times in five, else one step either way.
        const LEVELS: [Sev; 4] = [Sev::Simple, Sev::General, Sev::Major, Sev::Critical];
        let default = LEVELS
            .iter()
            .position(|s| *s == category.default_severity)
            .unwrap_or(1);
        let severity = LEVELS[match rng.random_range(0..10) {
            0 => default.saturating_sub(1),
            1 => (default + 1).min(3),
            _ => default,
        }];

        // Channel and reporter: grid workers of the grid (or of its community) on patrol.
        let mut source = SOURCES[pick_weighted(rng, &SOURCES.map(|(_, w)| w))].0;
        let mut reporter_person = None;
        if source == Src::GridWorker {
            let own: Vec<usize> = grid.workers.clone();
            let pool = if own.is_empty() {
                street
                    .grids
                    .iter()
                    .filter(|o| o.community == grid.community)
                    .flat_map(|o| o.workers.iter().copied())
                    .collect()
            } else {
                own
            };
            match pool.choose(rng) {
                Some(&w) => reporter_person = Some(street.residents[w].id),
                None => source = Src::Hotline,
            }
        }
        let reporter_organization =
            (source == Src::Partner).then(|| match category.code.split('_').next() {
                Some("EPIDEMIC") => ctx.offices.health,
                Some("LIVELIHOOD") => ctx.offices.civil,
                _ => ctx.offices.property[(grid.community / 4).min(1)],
            });
        let (contact_name, contact_phone) = match source {
            Src::Portal | Src::Hotline => (true, true),
            Src::Open311 => (rng.random_bool(0.5), rng.random_bool(0.4)),
            _ => (false, false),
        };
        let contact_name = if contact_name {
            let gender = if rng.random_bool(0.5) {
                Gender::Male
            } else {
                Gender::Female
            };
            let born = rng.random_range(1945..=2000);
            Some(self.name(rng, gender, born))
        } else {
            None
        };
        let contact_phone = if contact_phone {
            Some(self.phone(rng)?)
        } else {
            None
        };

        // Where, and what.
        let building = (grid.number - 1) * 5 + rng.random_range(1..=5);
        let indoor = texts.is_some_and(|t| t.indoor);
        let place = if indoor {
            format!(
                "{}{building}号楼{}单元",
                community.name,
                rng.random_range(1..=4)
            )
        } else {
            match rng.random_range(0..4) {
                0 => format!(
                    "{}{}",
                    community.name,
                    ROADS.choose(rng).copied().unwrap_or("温泉路")
                ),
                _ => format!(
                    "{}{building}号楼{}",
                    community.name,
                    SIDES.choose(rng).copied().unwrap_or("东侧")
                ),
            }
        };
        let fill = |template: &str, rng: &mut ChaCha8Rng| {
            template
                .replace("{b}", &building.to_string())
                .replace("{place}", &place)
                .replace("{n}", NUMBERS.choose(rng).copied().unwrap_or("两"))
        };
        let (title, description) = match texts.and_then(|t| t.reports.choose(rng)) {
            Some((title, description)) => (fill(title, rng), Some(fill(description, rng))),
            None => (category.name.clone(), None),
        };
        let resolution = texts
            .and_then(|t| t.resolutions.choose(rng))
            .map(|r| (*r).to_owned());
        let located = source != Src::Hotline || rng.random_bool(0.5);
        let [x0, y0, x1, y1] = grid.bounds;
        let (longitude, latitude) = if located {
            let lon = x0 + (x1 - x0) * rng.random_range(0.05..0.95);
            let lat = y0 + (y1 - y0) * rng.random_range(0.05..0.95);
            (
                Some((lon * 1e6).round() / 1e6),
                Some((lat * 1e6).round() / 1e6),
            )
        } else {
            (None, None)
        };

        // The history: steps in hours after the report, then placed in the year.
        let accept_limit = f64::from(category.accept_hours.max(1));
        let close_limit = f64::from(category.close_hours.max(1));
        let fate = FATES[pick_weighted(rng, &FATES.map(|(_, w)| w))].0;
        let on_the_spot = fate == S::Closed
            && severity == Sev::Simple
            && source == Src::GridWorker
            && rng.random_bool(0.6);
        let mut steps: Vec<Planned> = Vec::new();
        // Hours after the report at which the deadlines last started to run.
        let mut clock = 0.0;
        let mut late = false;
        if on_the_spot {
            steps.push((
                Step::Close,
                rng.random_range(0.1..1.5),
                Some("现场处置完毕，就地解决".to_owned()),
            ));
        } else if fate == S::Rejected {
            let at = accept_delay(rng, accept_limit);
            let reason = REJECT_REASONS.choose(rng).copied().unwrap_or("不予受理");
            steps.push((
                Step::Reject {
                    reason: reason.to_owned(),
                },
                at,
                None,
            ));
        } else if fate != S::Reported {
            let escalated = fate == S::Escalated || rng.random_bool(0.06);
            if escalated {
                // Some handling in the grid first, then the escalation (once or, rarely, twice).
                let before = [0, 1, 2, 3][pick_weighted(rng, &[30, 30, 20, 20])];
                let accept = accept_delay(rng, accept_limit);
                let total = close_delay(rng, accept, close_limit, false);
                let mut flow = regular_flow(rng, 0.0, accept, total, None);
                flow.truncate(before);
                let last = flow.last().map_or(0.0, |s| s.1);
                let mut at = last + close_limit * rng.random_range(0.05..0.4);
                steps.extend(flow);
                let times = if rng.random_bool(0.15) { 2 } else { 1 };
                for k in 0..times {
                    if k > 0 {
                        at += accept_limit * rng.random_range(0.2..0.9);
                    }
                    let reason = ESCALATE_REASONS
                        .choose(rng)
                        .copied()
                        .unwrap_or("需上级协调");
                    steps.push((
                        Step::Escalate {
                            reason: reason.to_owned(),
                        },
                        at,
                        None,
                    ));
                }
                clock = at;
            }
            if fate != S::Escalated {
                late = fate == S::Closed && rng.random_bool(0.11);
                let accept = accept_delay(rng, accept_limit);
                let total = close_delay(rng, accept, close_limit, late);
                let mut flow = regular_flow(rng, clock, accept, total, resolution);
                flow.truncate(flow_len(fate));
                steps.extend(flow);
            }
            let reopen = fate == S::Reopened || (fate == S::Closed && rng.random_bool(0.04));
            if reopen {
                let closed = steps.last().map_or(0.0, |s| s.1);
                let mut at = closed + rng.random_range(2.0..240.0);
                let note = REOPEN_NOTES.choose(rng).copied().unwrap_or("问题复发");
                steps.push((Step::Reopen, at, Some(note.to_owned())));
                if fate == S::Closed {
                    for (step, gap) in [
                        (Step::Start, rng.random_range(1.0..12.0)),
                        (Step::Resolve, rng.random_range(12.0..96.0)),
                        (Step::Verify, rng.random_range(2.0..24.0)),
                        (Step::Close, rng.random_range(1.0..12.0)),
                    ] {
                        at += gap;
                        steps.push((step, at, None));
                    }
                }
            }
        }
        if fate == S::Closed {
            let share = match source {
                Src::Portal | Src::Hotline | Src::Open311 => 0.92,
                Src::GridWorker if on_the_spot => 0.3,
                Src::GridWorker => 0.7,
                Src::Partner => 0.6,
            };
            if rng.random_bool(share) {
                let closed = steps.last().map_or(0.0, |s| s.1);
                let closed_late = late || closed - clock > close_limit;
                let weights = SATISFACTION[usize::from(closed_late)];
                let satisfaction = pick_weighted(rng, &weights) as i32 + 1;
                steps.push((
                    Step::Rate { satisfaction },
                    closed + rng.random_range(0.5..48.0),
                    None,
                ));
            }
        }

        // Placement: finished incidents anywhere in the year (their history before the
        // reference instant); unfinished ones as long ago as their state says.
        let reference = reference_instant();
        let last = steps.last().map_or(0.0, |s| s.1);
        let elapsed = if matches!(fate, S::Closed | S::Rejected) {
            let earliest = (last + 0.25) * 3600.0;
            // Eight hours short of the span, for the move out of the night below.
            let latest = ((SPAN_DAYS * 24 - 8) * 3600) as f64;
            rng.random_range(earliest.min(latest - 1.0)..latest) / 3600.0
        } else {
            // Awaiting acceptance (reported, escalated): the acceptance deadline; else closure.
            let limit = if matches!(fate, S::Reported | S::Escalated) {
                accept_limit
            } else {
                close_limit
            };
            let since = last - clock;
            if rng.random_bool(0.35) || since >= limit || fate == S::Reopened {
                // Stalled: past its deadline now.
                clock + since.max(limit) + close_limit * rng.random_range(0.05..2.5)
            } else {
                clock + since + (limit - since) * rng.random_range(0.05..0.95)
            }
        };
        let mut reported_at = reference - hours(elapsed);
        // Reports come in by day: a night-time report of a finished incident moves to the
        // morning or evening before.
        if matches!(fate, S::Closed | S::Rejected) {
            let hour = (reported_at + super::CHINA_OFFSET).hour();
            if hour < 6 {
                reported_at -= TimeDelta::hours(8);
            }
        }

        // The report, as `store::incident::report` writes it.
        let (id, _) = self.next_id();
        let routed = ctx.route(grid.id, category.id);
        let mut m = incident::Model {
            id,
            grid_id: grid.id,
            handling_grid_id: grid.id,
            category_id: category.id,
            title,
            description,
            latitude,
            longitude,
            address: Some(format!("{}{place}", street.name)),
            severity,
            source,
            status: S::Reported,
            reporter_person_id: reporter_person,
            reporter_organization_id: reporter_organization,
            reporter_credential: SEED_ACTOR.to_owned(),
            contact_name,
            contact_phone,
            assignee_person_id: None,
            assignee_organization_id: None,
            accepted_at: None,
            accept_due_at: reported_at + TimeDelta::hours(i64::from(category.accept_hours)),
            due_at: reported_at + TimeDelta::hours(i64::from(category.close_hours)),
            resolved_at: None,
            closed_at: None,
            satisfaction: None,
            escalations: 0,
            created_at: reported_at,
            updated_at: reported_at,
            version: 1,
        };
        set_assignee(&mut m, routed);
        let details = json!({
            "categoryCode": category.code,
            "routedTo": routed.map(assignee_json),
        });
        self.event(rows, &m, Kind::Reported, None, None, details, reported_at);
        let mut previous = reported_at;
        for (step, offset, note) in steps {
            // Never two events at one instant, never one after the reference instant.
            let at = (reported_at + hours(offset))
                .max(previous + TimeDelta::seconds(1))
                .min(reference - TimeDelta::seconds(1));
            self.apply(ctx, category, rows, &mut m, step, note, at)?;
            previous = at;
        }
        rows.incidents.push(m);
        Ok(())
    }

    /// Takes `step` on `m` at `at` as `store::incident::transition` does, and records its event.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        ctx: &Ctx,
        category: &incident_category::Model,
        rows: &mut StreetRows,
        m: &mut incident::Model,
        step: Step,
        note: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let (from, to) = step.rule();
        let current = m.status;
        if !from.contains(&current) {
            return Err(seed_err(format!(
                "{step:?} planned on a {current:?} incident"
            )));
        }
        if let Some(to) = to {
            m.status = to;
        }
        let mut details = Json::Null;
        match &step {
            Step::Accept => m.accepted_at = Some(at),
            Step::Reject { reason } => {
                m.closed_at = Some(at);
                details = json!({ "reason": reason });
            }
            Step::Dispatch { .. } => {
                let current = m
                    .assignee_person_id
                    .map(Assignee::Person)
                    .or(m.assignee_organization_id.map(Assignee::Organization));
                let a = current
                    .or_else(|| ctx.route(m.handling_grid_id, m.category_id))
                    .ok_or_else(|| seed_err("the list names no one for an incident".into()))?;
                set_assignee(m, Some(a));
                details = json!({ "assignee": assignee_json(a) });
            }
            Step::Start | Step::Verify => {}
            Step::Resolve => m.resolved_at = Some(at),
            Step::Close => {
                if current == S::Reported {
                    if m.severity != Sev::Simple || m.source != Src::GridWorker {
                        return Err(seed_err("an on-the-spot closure not allowed".into()));
                    }
                    m.accepted_at = Some(at);
                    m.resolved_at = Some(at);
                    details = json!({ "onTheSpot": true });
                }
                m.closed_at = Some(at);
            }
            Step::Reopen => {
                let since = m.closed_at.or(m.resolved_at).unwrap_or(at);
                if at - since > TimeDelta::days(REOPEN_WINDOW_DAYS) {
                    return Err(seed_err("a reopening past the window".into()));
                }
                m.closed_at = None;
                m.resolved_at = None;
            }
            Step::Escalate { reason } => {
                let parent = ctx
                    .parent(m.handling_grid_id)
                    .ok_or_else(|| seed_err("an escalation above the root".into()))?;
                m.handling_grid_id = parent;
                m.escalations += 1;
                m.accept_due_at = at + TimeDelta::hours(i64::from(category.accept_hours));
                m.due_at = at + TimeDelta::hours(i64::from(category.close_hours));
                m.accepted_at = None;
                set_assignee(m, ctx.route(parent, m.category_id));
                details = json!({ "reason": reason, "toGridId": parent });
            }
            Step::Rate { satisfaction } => {
                m.satisfaction = Some(*satisfaction);
                details = json!({ "satisfaction": satisfaction });
            }
        }
        m.version += 1;
        m.updated_at = at;
        self.event(rows, m, kind(&step), Some(current), note, details, at);
        Ok(())
    }

    /// Appends the history event that brought `m` to its present version.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        rows: &mut StreetRows,
        m: &incident::Model,
        kind: Kind,
        from: Option<S>,
        comment: Option<String>,
        details: Json,
        at: DateTime<Utc>,
    ) {
        let (id, _) = self.next_id();
        rows.incident_events.push(incident_event::Model {
            id,
            incident_id: m.id,
            position: m.version,
            kind,
            from_status: from,
            to_status: Some(m.status),
            actor: SEED_ACTOR.to_owned(),
            comment,
            details: (!details.is_null()).then(|| details.to_string()),
            created_at: at,
            updated_at: at,
            version: 1,
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use std::collections::{HashMap, HashSet};

    use entity::{change_event, grid_assignment, organization};
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ColumnTrait, Database, PaginatorTrait, QueryFilter};

    use super::*;
    use crate::store::incident::{FINISHED, is_overdue};

    #[tokio::test]
    async fn scale_one_incidents_have_consistent_histories_in_every_status() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        let summary = super::super::seed_demo(&db, 1, false).await.unwrap();
        assert_eq!(summary.incidents, INCIDENTS_PER_STREET as u64);

        let incidents = incident::Entity::find().all(&db).await.unwrap();
        let events = incident_event::Entity::find().all(&db).await.unwrap();
        assert_eq!(summary.incident_events, events.len() as u64);
        let mut history: HashMap<Uuid, Vec<&incident_event::Model>> = HashMap::new();
        for e in &events {
            history.entry(e.incident_id).or_default().push(e);
        }
        let reference = reference_instant();
        let statuses: HashSet<S> = incidents.iter().map(|i| i.status).collect();
        assert_eq!(statuses.len(), 10, "{statuses:?}");
        for i in &incidents {
            let mut h = history.remove(&i.id).unwrap();
            h.sort_by_key(|e| e.position);
            // Positions 1..=version, a REPORTED start, each event from the previous status.
            assert_eq!(h.len() as i32, i.version);
            assert!(
                h.iter()
                    .enumerate()
                    .all(|(k, e)| e.position == k as i32 + 1)
            );
            assert_eq!((h[0].kind, h[0].from_status), (Kind::Reported, None));
            assert_eq!(h[0].created_at, i.created_at);
            for pair in h.windows(2) {
                assert_eq!(pair[1].from_status, pair[0].to_status);
                assert!(pair[1].created_at > pair[0].created_at);
            }
            let last = h[h.len() - 1];
            assert_eq!(last.to_status, Some(i.status));
            assert_eq!(last.created_at, i.updated_at);
            assert!(i.updated_at < reference);
            assert!(i.created_at >= reference - TimeDelta::days(SPAN_DAYS));
            assert!(h.iter().all(|e| e.actor == SEED_ACTOR));
            let mut rated = None;
            for e in &h {
                let details: Option<Json> = e
                    .details
                    .as_deref()
                    .map(|d| serde_json::from_str(d).unwrap());
                match e.kind {
                    Kind::Rejected | Kind::Escalated => {
                        assert!(details.unwrap()["reason"].is_string());
                    }
                    Kind::Rated => {
                        rated = details.unwrap()["satisfaction"].as_i64();
                    }
                    _ => {}
                }
            }
            assert_eq!(rated, i.satisfaction.map(i64::from));
            assert_eq!(
                i.escalations as usize,
                h.iter().filter(|e| e.kind == Kind::Escalated).count()
            );
            assert_eq!(i.escalations > 0, i.handling_grid_id != i.grid_id);
            assert_eq!(FINISHED.contains(&i.status), i.closed_at.is_some());
            assert!(i.assignee_person_id.is_some() != i.assignee_organization_id.is_some());
            assert_eq!(i.source == Src::GridWorker, i.reporter_person_id.is_some());
            assert!(i.satisfaction.is_none_or(|s| (1..=5).contains(&s)));
        }
        assert!(history.is_empty());

        // Mostly closed, some late; some overdue now, some escalated.
        let closed: Vec<_> = incidents.iter().filter(|i| i.status == S::Closed).collect();
        assert!(closed.len() * 10 >= incidents.len() * 7);
        let late = closed
            .iter()
            .filter(|i| i.closed_at > Some(i.due_at))
            .count();
        assert!(
            (closed.len() / 12..=closed.len() / 6).contains(&late),
            "{late}"
        );
        let rated = closed.iter().filter(|i| i.satisfaction.is_some()).count();
        assert!(rated * 2 > closed.len());
        let overdue = incidents
            .iter()
            .filter(|i| is_overdue(i, reference))
            .count();
        assert!(overdue >= 100, "{overdue}");
        assert!(incidents.iter().filter(|i| i.escalations > 0).count() >= 100);

        // Assignees exist: organisations, or grid workers.
        let orgs: HashSet<Uuid> = organization::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        let workers: HashSet<Uuid> = grid_assignment::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.person_id)
            .collect();
        for i in &incidents {
            assert!(i.assignee_organization_id.is_none_or(|o| orgs.contains(&o)));
            assert!(i.assignee_person_id.is_none_or(|p| workers.contains(&p)));
            assert!(i.reporter_person_id.is_none_or(|p| workers.contains(&p)));
        }
        // Grid-level lines route some incidents to grid heads.
        assert!(incidents.iter().any(|i| i.assignee_person_id.is_some()));

        // The feed has every incident's creation, placed by its grid.
        let recorded = change_event::Entity::find()
            .filter(change_event::Column::EntityType.eq(entity::EntityType::Incident))
            .count(&db)
            .await
            .unwrap();
        assert_eq!(recorded, incidents.len() as u64);
        assert_eq!(crate::store::changes::baseline(&db).await.unwrap(), 0);
    }
}
