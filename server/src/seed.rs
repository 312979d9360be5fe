//! `closeloop-server seed`: many varied, realistic records for benchmarks
//! and demos, stored as the relay stores them (documents, chunks and
//! projection rows through [`Storage::append_batch`], a thousand records a
//! transaction).
//!
//! Every record is an ordinary record document written with the domain's
//! own functions: captured from a [`FeedbackDraft`], classified with
//! [`set_field`], and moved along its life cycle with [`transition`]
//! (register, assign, start, waiting for the customer, resolve, reply,
//! close, and now and then escalate, reassign or reopen), so statuses, SLA
//! facts and history rows agree as they would after real use.
//!
//! Content is deterministic for a seed: record `i` draws everything from
//! its own generator, seeded from `(seed, i)`, so the records can be built
//! on several threads and still come out the same. Received times lie in
//! the 90 days before `now` (weighted to Beijing business hours), and each
//! record advances only as far as `now` allows, so with the same `now` two
//! runs give the same rows; document ids are random, like real ones, so
//! seeding twice adds records instead of overwriting them.

use std::sync::Arc;

use automerge::Automerge;
use closeloop_shared::record::{
    CustomerAnswer, Field, add_reply, append_log, edit_solution, record_answer, set_field,
    set_root_cause, transition,
};
use closeloop_shared::relay::{ChunkWrite, RecordUpdate};
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::survey::answers::Answer;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;
use closeloop_shared::{FeedbackDraft, FeedbackRecord, RecordError};
use tokio::sync::mpsc;

use crate::storage::{SeededAnswer, Storage, StorageError};

/// Records stored per transaction.
pub const BATCH: usize = 1_000;
/// A word in about 8 % of the descriptions (invoices), for text search.
pub const FINDABLE_WORD: &str = "发票";
/// A word in about 0.2 % of the descriptions (a leak), for a search that
/// must scan far to fill a page.
pub const RARE_WORD: &str = "漏水";
/// The usernames records are assigned to; `office` is the head-office
/// user of the demo and of `cargo xtask bench office`.
pub const OWNERS: &[&str] = &[
    "office",
    "li.wei",
    "wang.fang",
    "zhang.min",
    "chen.jing",
    "liu.yang",
    "supervisor",
];

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Received times fall in this many days before now.
const DAYS: i64 = 90;
/// Beijing is UTC+8: business hours are weighted in its local time.
const BEIJING: i64 = 8 * HOUR;

/// Why seeding stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A generated record the domain refused: a bug in the generator.
    #[error("generating record {index}: {source}")]
    Record { index: usize, source: RecordError },
    #[error("no random source for record ids: {0}")]
    Random(String),
}

/// What to seed.
#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub records: usize,
    pub seed: u64,
    /// The moment the records are seeded at: no step happens after it.
    pub now_ms: i64,
}

/// Builds and stores `options.records` records; calls `progress` with the
/// number stored so far after every transaction. Returns how many were stored.
pub async fn seed_records(
    storage: &Storage,
    sla: &SlaConfig,
    options: SeedOptions,
    mut progress: impl FnMut(usize),
) -> Result<usize, SeedError> {
    let batches = options.records.div_ceil(BATCH);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(batches.max(1));
    // Worker w builds batches w, w + workers, …; the writer takes them in
    // order, so the stored order does not depend on the number of threads.
    let mut receivers = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for w in 0..workers {
        let (tx, rx) = mpsc::channel::<Result<Vec<Built>, SeedError>>(2);
        receivers.push(rx);
        threads.push(std::thread::spawn(move || {
            let taxonomy = Taxonomy::default();
            for b in (w..batches).step_by(workers) {
                let range = b * BATCH..((b + 1) * BATCH).min(options.records);
                let batch = range
                    .map(|i| build(&taxonomy, options, i))
                    .collect::<Result<Vec<_>, _>>();
                let failed = batch.is_err();
                // The writer has stopped when the channel is closed.
                if tx.blocking_send(batch).is_err() || failed {
                    return;
                }
            }
        }));
    }
    let mut stored = 0;
    let mut result = Ok(());
    for b in 0..batches {
        let Some(batch) = receivers[b % workers].recv().await else {
            break;
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let (writes, updates): (Vec<ChunkWrite>, Vec<RecordUpdate>) = batch
            .into_iter()
            .map(|r| {
                (
                    ChunkWrite {
                        id: r.id,
                        chunk: r.chunk,
                        team: r.team.map(str::to_string),
                        changes: Vec::new(),
                        author: None,
                    },
                    RecordUpdate {
                        id: r.id,
                        before: None,
                        after: Arc::new(r.record),
                    },
                )
            })
            .unzip();
        if let Err(e) = storage
            .append_batch(&writes, &updates, options.now_ms, sla)
            .await
        {
            result = Err(e.into());
            break;
        }
        let answers: Vec<SeededAnswer> = updates
            .iter()
            .filter_map(|u| survey_answer(&u.id, &u.after, options.now_ms))
            .collect();
        if let Err(e) = storage.add_seeded_answers(&answers, options.now_ms).await {
            result = Err(e.into());
            break;
        }
        stored += writes.len();
        progress(stored);
    }
    // Closed channels stop workers still building.
    drop(receivers);
    for t in threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    result.map(|()| stored)
}

/// The survey a customer answered after their record was closed, when
/// they answered its reply: scores that agree with what they said, three
/// hours after closing (none if that is after `now`). The scores vary with
/// the record's received second, so a seed gives the same answers.
fn survey_answer(id: &DocumentId, r: &FeedbackRecord, now_ms: i64) -> Option<SeededAnswer> {
    let at = r.workflow.closed_at_ms? + 3 * HOUR;
    let said = r.last_reply()?.customer_answer?;
    if at >= now_ms {
        return None;
    }
    let k = (r.received_at_ms / 1000).unsigned_abs() as usize;
    let (overall, recommend) = match said {
        CustomerAnswer::Satisfied => ([5, 5, 4, 5, 4, 3][k % 6], [10, 9, 9, 8, 10, 7][k / 6 % 6]),
        CustomerAnswer::HasQuestions => ([2, 3, 1, 3][k % 4], [5, 6, 3, 7][k / 4 % 4]),
    };
    let aspect = |shift: u32| (overall + [0, 1, -1][(k >> shift) % 3]).clamp(1, 5) as u8;
    let answers = [
        ("overall", overall as u8),
        ("speed", aspect(3)),
        ("attitude", aspect(5)),
        ("solution", aspect(7)),
        ("recommend", recommend),
    ]
    .into_iter()
    .map(|(q, s)| (q.to_string(), Answer::Score(s)))
    .collect();
    Some(SeededAnswer {
        document_id: id.to_string(),
        answers,
        answered_at: at,
    })
}

/// One record ready to store.
struct Built {
    id: DocumentId,
    chunk: Vec<u8>,
    team: Option<&'static str>,
    record: FeedbackRecord,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    /// A generator for stream `stream` of record `index` under `seed`.
    fn new(seed: u64, index: usize, stream: u64) -> Self {
        let mut r = Rng(seed ^ 0x5eed_c105_e100_9000);
        r.0 ^= r.next().wrapping_add(index as u64);
        r.0 ^= r.next().wrapping_add(stream);
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (`lo < hi`).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, with probability proportional to its weight.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// Problem classes (S001 §5) with what was found; weighted by repetition.
const PROBLEM_CLASSES: [(&str, &str); 8] = [
    ("service_quality", "服务人员未按规范操作"),
    ("technical", "系统接口超时"),
    ("service_quality", "上门时间未提前确认"),
    ("information_delivery", "活动规则说明不清"),
    ("organisation", "排班不足导致等待过长"),
    ("technical", "配送系统状态未同步"),
    ("participant_experience", "现场指引不足"),
    ("service_quality", "回访不及时"),
];

/// Every channel of the default taxonomy with its share: field channels
/// (captured on tablets of team north or south) more often than online ones.
const CHANNELS: &[(&str, u64)] = &[
    ("face_to_face", 14),
    ("onsite_survey", 6),
    ("store_box", 10),
    ("phone", 14),
    ("sales_visit", 6),
    ("paper_questionnaire", 4),
    ("research", 2),
    ("other", 2),
    ("web_form", 6),
    ("app_form", 8),
    ("email", 4),
    ("wechat", 10),
    ("weibo", 3),
    ("douyin", 3),
    ("third_party", 3),
    ("forum", 2),
    ("e_questionnaire", 3),
];

const COMPLAINTS: &[&str] = &[
    "收银台排队超过二十分钟，只开了一个收银口。",
    "上周购买的电水壶把手松动，想了解如何换货。",
    "快递三天没有更新物流信息。",
    "客服电话一直占线，打了五次都没人接。",
    "店员态度冷淡，询问尺码时没有人理会。",
    "收到的商品包装破损，里面的杯子碎了一个。",
    "App 下单后优惠券没有抵扣，实付比页面显示的高。",
    "退款申请提交一周了还没有到账。",
    "门店空调温度太低，等候区座位不够。",
    "维修师傅上门迟到两个小时，也没有提前通知。",
    "会员积分莫名其妙被清零了。",
    "洗衣机使用一个月就出现异响。",
    "停车场收费标准和门口公示的不一致。",
    "外卖送到时饭菜已经凉了，汤也洒了。",
    "试衣间灯光太暗，镜子有裂痕。",
    "网站支付页面反复报错，无法完成付款。",
    "同一款商品线上线下价格相差很大。",
    "售后承诺的回电一直没有收到。",
    "新买的手机充电很慢，怀疑充电器有问题。",
    "促销活动规则写得不清楚，结账时才发现不参加活动。",
    "开具的发票抬头写错了，要求重新开具。",
    "申请电子发票一周了还没有收到。",
];

const SUGGESTIONS: &[&str] = &[
    "希望门店增加几把座椅，老人等候时可以休息。",
    "建议 App 增加订单物流的实时推送。",
    "希望周末延长营业时间到晚上十点。",
    "建议在收银台旁边放置自助结账机。",
    "希望会员积分可以兑换停车券。",
    "建议官网增加在线客服，电话太难打通。",
    "希望商品说明书提供大字版本。",
    "建议退换货可以在线上办理，不用跑门店。",
    "希望增加儿童游乐区，带孩子购物更方便。",
    "建议付款后自动把电子发票发到邮箱。",
];

const PRAISES: &[&str] = &[
    "店员小张非常耐心，帮我挑选了合适的尺码。",
    "维修师傅准时上门，处理得又快又好。",
    "客服回复很及时，问题当天就解决了。",
    "新店环境很干净，购物体验很好。",
    "快递包装很用心，东西完好无损。",
    "活动组织得很好，孩子们玩得很开心。",
];

/// A second sentence, sometimes.
const DETAILS: &[&str] = &[
    "订单号已经提供给店员。",
    "这已经是第二次发生了。",
    "希望尽快给个答复。",
    "之前也反映过，一直没有改进。",
    "家里老人行动不便，希望上门处理。",
    "麻烦尽快联系我。",
    "朋友也遇到过同样的情况。",
    "照片已经拍下来了。",
];

/// A second sentence of praise, sometimes.
const PRAISE_DETAILS: &[&str] = &["下次还会再来。", "希望公司给予表扬。", "点个赞！"];

/// The rare finding (see [`RARE_WORD`]).
const LEAK: &str = "热水器安装后接口处漏水，地板被泡坏了。";

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const TITLES: &[&str] = &["女士", "先生", "阿姨", "老师", "同学"];
const HANDLES: &[&str] = &[
    "小鱼儿",
    "晴天",
    "阿杰",
    "momo",
    "Tony",
    "开心果",
    "小米粒",
    "大熊",
    "向日葵",
    "Coco",
];

const DEPARTMENTS: &[&str] = &[
    "售后服务部",
    "客服中心",
    "质量管理部",
    "物流部",
    "门店运营部",
    "技术部",
    "市场部",
];

/// Office roles take the office steps.
const OFFICE: &[&str] = &["office", "supervisor"];

const LOG_LINES: &[&str] = &[
    "已电话联系客户，确认问题细节。",
    "已转交相关部门核实。",
    "已安排技术人员上门检查。",
    "供应商已回复，正在协调换货。",
    "已调取门店监控，核实情况属实。",
    "已向客户说明处理进度。",
];

const SOLUTIONS: &[&str] = &[
    "为客户办理换货，并赠送优惠券表示歉意。",
    "已补开发票并快递寄出。",
    "门店调整排班，高峰期增开收银口。",
    "维修完成，客户确认正常使用。",
    "已全额退款，并对相关员工进行培训。",
    "已将建议转交产品团队，纳入下季度计划。",
];

const REPLIES: &[&str] = &[
    "您好，您反映的问题已经处理完毕，感谢您的耐心等待。",
    "感谢您的宝贵建议，我们已转交相关部门。",
    "非常感谢您的表扬，我们会继续努力。",
    "您好，退款已原路退回，请注意查收。",
];

/// Record `index` of a seed: its document, its team and how it reads back.
fn build(taxonomy: &Taxonomy, options: SeedOptions, index: usize) -> Result<Built, SeedError> {
    let id = crate::random::bytes::<16>().map_err(|e| SeedError::Random(e.to_string()))?;
    let (doc, team) =
        write(taxonomy, options, index).map_err(|source| SeedError::Record { index, source })?;
    let record =
        FeedbackRecord::from_doc(&doc).map_err(|source| SeedError::Record { index, source })?;
    Ok(Built {
        id: DocumentId::from_bytes(id),
        chunk: doc.save(),
        team,
        record,
    })
}

/// When record `index` was received: a day among the last [`DAYS`] and a
/// time of day weighted to Beijing business hours, before `now`.
fn received_at(options: SeedOptions, index: usize) -> i64 {
    // Share of feedback per Beijing hour of the day.
    const HOURS: [u64; 24] = [
        1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 17, 15, 16, 18, 18, 17, 16, 15, 14, 12, 9, 5, 2,
    ];
    let mut rng = Rng::new(options.seed, index, 1);
    let today = (options.now_ms + BEIJING).div_euclid(DAY) * DAY - BEIJING;
    loop {
        let day = today - rng.range(0, DAYS) * DAY;
        let at = day + rng.weighted(&HOURS) as i64 * HOUR + rng.range(0, HOUR);
        if at < options.now_ms - MINUTE {
            return at;
        }
    }
}

/// The feedback's nature, its type and the description that goes with them.
fn content(rng: &mut Rng) -> (&'static str, &'static str, String) {
    let nature = ["complaint", "suggestion", "praise"][rng.weighted(&[60, 28, 12])];
    let (pool, types): (&[&str], &[&str]) = match nature {
        "complaint" => (
            COMPLAINTS,
            &["complaint", "product_quality", "service_experience"],
        ),
        "suggestion" => (
            SUGGESTIONS,
            &[
                "feature_suggestion",
                "service_experience",
                "product_quality",
            ],
        ),
        _ => (PRAISES, &["praise", "service_experience"]),
    };
    let feedback_type = rng.pick(types);
    let mut description = if nature == "complaint" && rng.chance(1) && rng.chance(40) {
        LEAK.to_string()
    } else {
        rng.pick(pool).to_string()
    };
    if rng.chance(40) {
        let details = if nature == "praise" {
            PRAISE_DETAILS
        } else {
            DETAILS
        };
        description.push_str(rng.pick(details));
    }
    (nature, feedback_type, description)
}

fn nickname(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=5 => format!("{}{}", rng.pick(SURNAMES), rng.pick(TITLES)),
        6 => format!("会员 {:04}", rng.below(10_000)),
        7 => format!("顾客 {:04}", rng.below(10_000)),
        _ => format!("{}{}", rng.pick(HANDLES), rng.below(1000)),
    }
}

/// The document of record `index` and its team.
fn write(
    taxonomy: &Taxonomy,
    options: SeedOptions,
    index: usize,
) -> Result<(Automerge, Option<&'static str>), RecordError> {
    let received = received_at(options, index);
    let mut rng = Rng::new(options.seed, index, 2);
    let channel = CHANNELS[rng.weighted(&CHANNELS.iter().map(|c| c.1).collect::<Vec<_>>())].0;
    let field = taxonomy.channel(channel).is_some_and(|c| c.field);
    // Tablets of team north or south capture the field channels; head
    // office enters the online ones, and such records have no team (as the
    // relay stores a record created by a head-office user).
    let team = rng.pick(&["north", "south"]);
    let (team, captured_by) = if field {
        (Some(team), format!("field-{team}"))
    } else {
        (None, "office".to_string())
    };
    // Online feedback is entered at head office a little after it arrived,
    // with the time it really arrived.
    let entered = if field {
        received
    } else {
        (received + rng.range(2 * MINUTE, 3 * HOUR)).min(options.now_ms - 1)
    };
    let (nature, feedback_type, description) = content(&mut rng);
    let draft = FeedbackDraft {
        channel: channel.into(),
        nickname: nickname(&mut rng),
        description,
        source: ["external_customer", "internal_staff", "partner"][rng.weighted(&[90, 6, 4])]
            .into(),
        order_number: rng
            .chance(30)
            .then(|| format!("SO{:08}", rng.below(100_000_000))),
        contact_ref: None,
        received_at_ms: (!field).then_some(received),
    };
    let mut doc = Automerge::new();
    draft.write_new(&mut doc, taxonomy, &captured_by, entered)?;

    // How far the record has come: older records are mostly closed, some
    // stay stuck; the timeline below stops at `now` in any case.
    let age = options.now_ms - received;
    let weights: [u64; 7] = if age > 7 * DAY {
        [1, 2, 3, 5, 5, 10, 74]
    } else if age > DAY {
        [4, 6, 12, 20, 10, 13, 35]
    } else {
        [25, 20, 20, 20, 8, 5, 2]
    };
    let target = rng.weighted(&weights);
    let priority = match nature {
        "complaint" => [Some("P0"), Some("P1"), Some("P2"), None][rng.weighted(&[4, 25, 65, 6])],
        "suggestion" => [Some("P2"), Some("P3"), None][rng.weighted(&[30, 60, 10])],
        _ => [Some("P3"), None][rng.weighted(&[70, 30])],
    };
    // Urgent records move faster.
    let pace = match priority {
        Some("P0") => 0.1,
        Some("P1") => 0.4,
        Some("P2") => 1.0,
        _ => 1.5,
    };
    let mut life = Life {
        doc,
        rng: Rng::new(options.seed, index, 3),
        at: entered,
        now: options.now_ms,
        pace,
    };
    if target == 0 {
        return Ok((life.doc, team));
    }
    let office = life.rng.pick(OFFICE);
    // Classified when registered.
    if !life.wait(10 * MINUTE, 20 * HOUR) {
        return Ok((life.doc, team));
    }
    let at = life.at;
    let mut classify = vec![
        (Field::FeedbackType, feedback_type),
        (Field::Nature, nature),
    ];
    if let Some(p) = priority {
        classify.push((Field::Priority, p));
    }
    if life.rng.chance(60) {
        classify.push((
            Field::Urgency,
            life.rng.pick(&["urgent", "important", "normal"]),
        ));
    }
    if life.rng.chance(40) {
        classify.push((
            Field::Impact,
            life.rng
                .pick(&["single", "several", "many", "business_down"]),
        ));
    }
    if nature == "complaint" {
        classify.push((
            Field::ComplaintKind,
            life.rng
                .pick(&["product_quality", "service_attitude", "delivery_delay"]),
        ));
    }
    for (f, v) in classify {
        set_field(&mut life.doc, taxonomy, f, v, office, at)?;
    }
    life.step(&Action::Register, office)?;
    if target == 1 {
        return Ok((life.doc, team));
    }
    let mut owner = life.rng.pick(OWNERS);
    let department = life.rng.pick(DEPARTMENTS);
    if !life.wait(5 * MINUTE, 6 * HOUR) {
        return Ok((life.doc, team));
    }
    life.step(
        &Action::Assign {
            owner: owner.into(),
            department: department.into(),
        },
        office,
    )?;
    if life.rng.chance(6) && life.wait(30 * MINUTE, 8 * HOUR) {
        // Handed on before work began, to someone else.
        let others: Vec<&str> = OWNERS.iter().copied().filter(|o| *o != owner).collect();
        owner = life.rng.pick(&others);
        let department = life.rng.pick(DEPARTMENTS);
        life.step(
            &Action::Reassign {
                owner: owner.into(),
                department: department.into(),
            },
            office,
        )?;
    }
    if target == 2 || !life.wait(10 * MINUTE, 24 * HOUR) {
        return Ok((life.doc, team));
    }
    life.step(&Action::Start, owner)?;
    if life.rng.chance(4) && life.wait(MINUTE, 4 * HOUR) {
        life.step(&Action::Escalate, "supervisor")?;
    }
    for _ in 0..life.rng.below(4) {
        if !life.wait(20 * MINUTE, 12 * HOUR) {
            return Ok((life.doc, team));
        }
        let line = life.rng.pick(LOG_LINES);
        append_log(&mut life.doc, line, owner, life.at)?;
    }
    if life.rng.chance(10) && life.wait(10 * MINUTE, 4 * HOUR) {
        life.step(&Action::AwaitCustomer, owner)?;
        if !life.wait(HOUR, 3 * DAY) {
            return Ok((life.doc, team));
        }
        life.step(&Action::CustomerResponded, owner)?;
    }
    let rounds = if life.rng.chance(3) { 2 } else { 1 };
    for round in 0..rounds {
        if round > 0 {
            // Not satisfied: back to work.
            if !life.wait(HOUR, 3 * DAY) {
                return Ok((life.doc, team));
            }
            life.step(&Action::Reopen, office)?;
        }
        if target == 3 || !life.wait(2 * HOUR, 6 * DAY) {
            return Ok((life.doc, team));
        }
        let at = life.at;
        edit_solution(&mut life.doc, life.rng.pick(SOLUTIONS), at)?;
        // The problem class follows from the moment, not the generator, so
        // the records drawn before root causes were kept stay the same.
        let class = PROBLEM_CLASSES[(at / 60_000) as usize % PROBLEM_CLASSES.len()];
        set_root_cause(&mut life.doc, taxonomy, class.0, class.1, at)?;
        life.step(&Action::Resolve, owner)?;
        if target == 4 || !life.wait(10 * MINUTE, 36 * HOUR) {
            return Ok((life.doc, team));
        }
        let at = life.at;
        let answer = match life.rng.below(10) {
            0..=6 => Some(CustomerAnswer::Satisfied),
            7 => Some(CustomerAnswer::HasQuestions),
            _ => None,
        };
        let text = life.rng.pick(REPLIES);
        add_reply(&mut life.doc, taxonomy, channel, text, office, at)?;
        if let Some(a) = answer {
            record_answer(&mut life.doc, a, "", office, at)?;
        }
        life.step(&Action::Reply, office)?;
        if target == 5 || !life.wait(HOUR, 5 * DAY) {
            return Ok((life.doc, team));
        }
        life.step(&Action::Close, office)?;
    }
    Ok((life.doc, team))
}

/// A record's document on its way through the life cycle, with the time
/// of its latest step.
struct Life {
    doc: Automerge,
    rng: Rng,
    at: i64,
    now: i64,
    /// Scales the waits: urgent records move faster.
    pace: f64,
}

impl Life {
    /// Moves the clock on by a wait in `min..max` (scaled by the pace, at
    /// least a minute, so steps never share a moment); false when that
    /// would reach `now`: the record has come no further.
    fn wait(&mut self, min: i64, max: i64) -> bool {
        let gap = (self.rng.range(min, max) as f64 * self.pace) as i64;
        let next = self.at + gap.max(MINUTE);
        if next >= self.now {
            return false;
        }
        self.at = next;
        true
    }

    fn step(&mut self, action: &Action, by: &str) -> Result<(), RecordError> {
        transition(&mut self.doc, action, None, by, self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use closeloop_shared::workflow::Status;

    const NOW: i64 = 1_790_000_000_000;

    fn options(seed: u64) -> SeedOptions {
        SeedOptions {
            records: 0,
            seed,
            now_ms: NOW,
        }
    }

    #[test]
    fn records_are_valid_varied_and_consistent() {
        let taxonomy = Taxonomy::default();
        let mut statuses = std::collections::BTreeMap::new();
        let mut channels = std::collections::BTreeSet::new();
        let mut owners = std::collections::BTreeSet::new();
        let mut findable = 0;
        for i in 0..2_000 {
            let (doc, team) = write(&taxonomy, options(7), i).unwrap();
            let r = FeedbackRecord::from_doc(&doc).unwrap();
            assert!(r.workflow_issues.is_empty(), "{i}: {:?}", r.workflow_issues);
            assert!(r.conflicts.is_empty());
            assert!(r.received_at_ms < NOW && r.received_at_ms >= NOW - (DAYS + 1) * DAY);
            assert!(r.history.iter().all(|h| h.at_ms < NOW));
            assert_eq!(team.is_some(), taxonomy.channel(&r.channel).unwrap().field);
            assert_eq!(r.owner.is_some(), r.workflow.status >= Status::Assigned);
            if r.workflow.status >= Status::InProgress {
                assert!(r.workflow.first_response_at_ms.is_some());
            }
            *statuses.entry(r.workflow.status).or_insert(0) += 1;
            channels.insert(r.channel);
            owners.extend(r.owner);
            findable += usize::from(r.description.contains(FINDABLE_WORD));
        }
        assert_eq!(statuses.len(), Status::ALL.len(), "{statuses:?}");
        assert_eq!(channels.len(), taxonomy.channels.len());
        assert_eq!(owners.len(), OWNERS.len());
        assert!((60..300).contains(&findable), "{findable}");
    }

    #[test]
    fn the_same_seed_gives_the_same_record() {
        let taxonomy = Taxonomy::default();
        let read = |seed, i| {
            let (doc, _) = write(&taxonomy, options(seed), i).unwrap();
            FeedbackRecord::from_doc(&doc).unwrap()
        };
        assert_eq!(read(3, 41), read(3, 41));
        assert_ne!(read(3, 41), read(4, 41));
    }
}
