//! The classification vocabulary as data, so admins can edit it (S000 §2,
//! S001 §3, S002 §4, S003 §2, S004 §2). Records store keys; labels come from
//! here in Chinese and English. The defaults are the process documents'.

/// A label in both UI languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Label {
    pub zh: String,
    pub en: String,
}

/// One entry of a list: a stable key and its label.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Term {
    pub key: String,
    pub label: Label,
}

/// A collection channel and who answers for it (S002 §2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Channel {
    pub key: String,
    pub label: Label,
    /// The responsible owner (a user id); `None` until an admin assigns one.
    pub owner: Option<String>,
    /// Offered on the field tablet's capture form.
    pub field: bool,
}

/// Which list a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TermList {
    Source,
    FeedbackType,
    Aspect,
    EventCategory,
    ComplaintKind,
    Nature,
    Urgency,
    Impact,
    ProblemClass,
    Department,
}

/// Every list of terms plus the channels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Taxonomy {
    pub channels: Vec<Channel>,
    /// Internal staff, external customer, partner (S001).
    pub sources: Vec<Term>,
    pub feedback_types: Vec<Term>,
    pub aspects: Vec<Term>,
    /// For event feedback (S001 §3).
    pub event_categories: Vec<Term>,
    /// Complaint kinds (S004 §2).
    pub complaint_kinds: Vec<Term>,
    /// Praise, suggestion, complaint (S001).
    pub natures: Vec<Term>,
    /// Urgent, important, normal (S001).
    pub urgencies: Vec<Term>,
    /// Impact scope (S004).
    pub impacts: Vec<Term>,
    /// Root-cause classes (S001 §5).
    pub problem_classes: Vec<Term>,
    /// Departments records are assigned to (S002 §2); a record may also
    /// name one that is not listed (free text from earlier versions).
    #[serde(default)]
    pub departments: Vec<Term>,
}

/// Why an edited taxonomy cannot be saved.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TaxonomyError {
    #[error("key `{0}` is used twice in one list")]
    DuplicateKey(String),
    #[error("key `{0}` must be 1–40 characters of a–z, 0–9, `_` or `.`")]
    BadKey(String),
    #[error("entry `{0}` needs both a Chinese and an English label")]
    MissingLabel(String),
}

fn terms(items: &[(&str, &str, &str)]) -> Vec<Term> {
    items
        .iter()
        .map(|(key, zh, en)| Term {
            key: (*key).into(),
            label: Label {
                zh: (*zh).into(),
                en: (*en).into(),
            },
        })
        .collect()
}

impl Default for Taxonomy {
    fn default() -> Self {
        let channel = |key: &str, zh: &str, en: &str, field: bool| Channel {
            key: key.into(),
            label: Label {
                zh: zh.into(),
                en: en.into(),
            },
            owner: None,
            field,
        };
        Taxonomy {
            channels: vec![
                channel("face_to_face", "面对面访谈", "Face-to-face interview", true),
                channel("onsite_survey", "现场问卷", "On-site survey", true),
                channel("store_box", "门店意见箱", "Store suggestion box", true),
                channel("phone", "电话/热线", "Phone / hotline", true),
                channel("sales_visit", "销售拜访", "Sales visit", true),
                channel("web_form", "官网表单", "Website form", false),
                channel("app_form", "App 内反馈", "In-app form", false),
                channel("email", "电子邮件", "Email", false),
                channel("wechat", "微信", "WeChat", false),
                channel("weibo", "微博", "Weibo", false),
                channel("douyin", "抖音", "Douyin", false),
                channel(
                    "third_party",
                    "第三方平台（如 12315）",
                    "Third-party platform (e.g. 12315)",
                    false,
                ),
                channel("forum", "客户论坛", "Customer forum", false),
                channel(
                    "paper_questionnaire",
                    "纸质问卷",
                    "Paper questionnaire",
                    true,
                ),
                channel(
                    "e_questionnaire",
                    "电子问卷",
                    "Electronic questionnaire",
                    false,
                ),
                channel("research", "主动调研", "Proactive research", true),
                channel("other", "其他", "Other", true),
            ],
            sources: terms(&[
                ("external_customer", "外部客户", "External customer"),
                ("internal_staff", "内部员工", "Internal staff"),
                ("partner", "合作伙伴", "Partner"),
            ]),
            feedback_types: terms(&[
                ("product_quality", "产品质量", "Product quality"),
                ("service_experience", "服务体验", "Service experience"),
                ("feature_suggestion", "功能建议", "Feature suggestion"),
                ("complaint", "投诉", "Complaint"),
                ("praise", "表扬", "Praise"),
            ]),
            aspects: terms(&[
                ("product.quality", "产品·质量", "Product · quality"),
                ("product.function", "产品·功能", "Product · function"),
                ("product.appearance", "产品·外观", "Product · appearance"),
                ("service.attitude", "服务·态度", "Service · attitude"),
                ("service.efficiency", "服务·效率", "Service · efficiency"),
                ("service.process", "服务·流程", "Service · process"),
                ("price", "价格", "Price"),
                ("promotion", "促销活动", "Promotion"),
            ]),
            event_categories: terms(&[
                ("event_content", "活动内容", "Event content"),
                ("organisation", "组织安排", "Organisation"),
                ("corporate_image", "企业形象", "Corporate image"),
                ("product_service", "产品与服务", "Product and service"),
                ("other", "其他", "Other"),
            ]),
            complaint_kinds: terms(&[
                ("product_quality", "产品质量", "Product quality"),
                ("service_attitude", "服务态度", "Service attitude"),
                ("delivery_delay", "物流延迟", "Delivery delay"),
            ]),
            natures: terms(&[
                ("praise", "表扬", "Praise"),
                ("suggestion", "建议", "Suggestion"),
                ("complaint", "投诉", "Complaint"),
            ]),
            urgencies: terms(&[
                ("urgent", "紧急", "Urgent"),
                ("important", "重要", "Important"),
                ("normal", "一般", "Normal"),
            ]),
            impacts: terms(&[
                ("single", "单个客户", "One customer"),
                ("several", "部分客户", "Several customers"),
                ("many", "大量或重要客户", "Many or key customers"),
                ("business_down", "业务中断", "Business down"),
            ]),
            problem_classes: terms(&[
                ("organisation", "组织管理", "Organisation"),
                ("service_quality", "服务质量", "Service quality"),
                ("technical", "技术问题", "Technical"),
                ("information_delivery", "信息传达", "Information delivery"),
                (
                    "participant_experience",
                    "参与体验",
                    "Participant experience",
                ),
            ]),
            departments: terms(&[
                ("customer_service", "客户服务中心", "Customer service"),
                ("store_ops", "门店运营", "Store operations"),
                ("after_sales", "售后服务部", "After-sales service"),
                ("product", "产品部", "Product"),
                ("technical", "技术部", "Technical"),
                ("marketing", "市场部", "Marketing"),
                ("membership", "会员中心", "Membership"),
            ]),
        }
    }
}

impl TermList {
    /// Every list, in the order forms and admins see them.
    pub const ALL: [TermList; 10] = [
        TermList::Source,
        TermList::FeedbackType,
        TermList::Aspect,
        TermList::EventCategory,
        TermList::ComplaintKind,
        TermList::Nature,
        TermList::Urgency,
        TermList::Impact,
        TermList::ProblemClass,
        TermList::Department,
    ];

    /// A stable name (for pages and messages).
    pub fn key(self) -> &'static str {
        match self {
            TermList::Source => "source",
            TermList::FeedbackType => "feedback_type",
            TermList::Aspect => "aspect",
            TermList::EventCategory => "event_category",
            TermList::ComplaintKind => "complaint_kind",
            TermList::Nature => "nature",
            TermList::Urgency => "urgency",
            TermList::Impact => "impact",
            TermList::ProblemClass => "problem_class",
            TermList::Department => "department",
        }
    }
}

impl Taxonomy {
    /// The terms of one list, to edit.
    pub fn list_mut(&mut self, list: TermList) -> &mut Vec<Term> {
        match list {
            TermList::Source => &mut self.sources,
            TermList::FeedbackType => &mut self.feedback_types,
            TermList::Aspect => &mut self.aspects,
            TermList::EventCategory => &mut self.event_categories,
            TermList::ComplaintKind => &mut self.complaint_kinds,
            TermList::Nature => &mut self.natures,
            TermList::Urgency => &mut self.urgencies,
            TermList::Impact => &mut self.impacts,
            TermList::ProblemClass => &mut self.problem_classes,
            TermList::Department => &mut self.departments,
        }
    }

    /// The terms of one list.
    pub fn list(&self, list: TermList) -> &[Term] {
        match list {
            TermList::Source => &self.sources,
            TermList::FeedbackType => &self.feedback_types,
            TermList::Aspect => &self.aspects,
            TermList::EventCategory => &self.event_categories,
            TermList::ComplaintKind => &self.complaint_kinds,
            TermList::Nature => &self.natures,
            TermList::Urgency => &self.urgencies,
            TermList::Impact => &self.impacts,
            TermList::ProblemClass => &self.problem_classes,
            TermList::Department => &self.departments,
        }
    }

    /// Whether `key` is in `list`.
    pub fn has(&self, list: TermList, key: &str) -> bool {
        self.list(list).iter().any(|t| t.key == key)
    }

    /// A channel by key.
    pub fn channel(&self, key: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.key == key)
    }

    /// The channels the field tablet offers, in order.
    pub fn field_channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().filter(|c| c.field)
    }

    /// Checks an admin's edit: keys well-formed and unique per list, labels present.
    pub fn validate(&self) -> Result<(), TaxonomyError> {
        let channel_entries: Vec<(&str, &Label)> = self
            .channels
            .iter()
            .map(|c| (c.key.as_str(), &c.label))
            .collect();
        check_entries(&channel_entries)?;
        for list in TermList::ALL {
            let entries: Vec<(&str, &Label)> = self
                .list(list)
                .iter()
                .map(|t| (t.key.as_str(), &t.label))
                .collect();
            check_entries(&entries)?;
        }
        Ok(())
    }
}

fn check_entries(entries: &[(&str, &Label)]) -> Result<(), TaxonomyError> {
    let mut seen = std::collections::HashSet::new();
    for (key, label) in entries {
        let well_formed = (1..=40).contains(&key.len())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
        if !well_formed {
            return Err(TaxonomyError::BadKey((*key).into()));
        }
        if !seen.insert(*key) {
            return Err(TaxonomyError::DuplicateKey((*key).into()));
        }
        if label.zh.trim().is_empty() || label.en.trim().is_empty() {
            return Err(TaxonomyError::MissingLabel((*key).into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_cover_the_documents() {
        let t = Taxonomy::default();
        t.validate().unwrap();
        assert!(t.has(TermList::FeedbackType, "complaint"));
        assert!(t.has(TermList::ComplaintKind, "delivery_delay"));
        assert!(t.has(TermList::ProblemClass, "information_delivery"));
        assert!(t.has(TermList::EventCategory, "corporate_image"));
        assert!(t.channel("third_party").is_some());
        assert!(t.field_channels().any(|c| c.key == "face_to_face"));
        assert!(t.field_channels().all(|c| c.key != "weibo"));
        assert_eq!(t.aspects.len(), 8);
    }

    #[test]
    fn a_bad_edit_is_refused() {
        let mut t = Taxonomy::default();
        t.natures.push(t.natures[0].clone());
        assert_eq!(
            t.validate(),
            Err(TaxonomyError::DuplicateKey("praise".into()))
        );
        let mut t = Taxonomy::default();
        t.urgencies[0].key = "Urgent!".into();
        assert_eq!(t.validate(), Err(TaxonomyError::BadKey("Urgent!".into())));
        let mut t = Taxonomy::default();
        t.channels[0].label.en = " ".into();
        assert_eq!(
            t.validate(),
            Err(TaxonomyError::MissingLabel("face_to_face".into()))
        );
    }

    #[test]
    fn survives_a_json_round_trip_for_admin_editing() {
        let t = Taxonomy::default();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Taxonomy>(&json).unwrap(), t);
    }
}
