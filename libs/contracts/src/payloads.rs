//! Every event type's payload as a Rust type, used by its producer and its
//! consumers alike. The JSON Schemas under `schemas/events/` remain the
//! contract on the wire (every event is validated against them when
//! appended and when consumed); these types are how the code reads and
//! writes it. Their examples (the schemas' `examples`) round-trip through
//! them in this crate's tests.
//!
//! Requests share a [`StepRequest`] header and results a [`StepResult`]
//! header, flattened into the payload as the schemas have them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::envelope::{Event, EventType};
use crate::ids::{CaseId, Outcome, PersonId, StepId, past_tense, wire_enum};

/// A payload of a catalogued event type.
pub trait Payload: Serialize + DeserializeOwned {
    /// Its event type, e.g. `case.closed.v1`.
    const TYPE: &'static str;

    /// The record key: the id of the aggregate the event is about.
    fn key(&self) -> String;
}

impl Event {
    /// A new event of `payload`'s type from `source`, keyed by its aggregate.
    pub fn of<P: Payload>(source: impl Into<String>, payload: &P) -> Event {
        // Plain structs with string keys always serialise; were one not to,
        // the null payload would be refused by schema validation on append.
        let data = serde_json::to_value(payload).unwrap_or(Value::Null);
        Event::new(source, EventType::new(P::TYPE), payload.key(), data)
    }

    /// The payload as `P`, if the event is of `P`'s type and fits it.
    pub fn payload<P: Payload>(&self) -> Result<P, String> {
        if self.event_type.as_str() != P::TYPE {
            return Err(format!(
                "a {} event is not a {}",
                self.event_type.as_str(),
                P::TYPE
            ));
        }
        self.fields()
    }

    /// Any view of the payload's fields (a header such as [`StepResult`]),
    /// whatever the type.
    pub fn fields<T: DeserializeOwned>(&self) -> Result<T, String> {
        T::deserialize(&self.data)
            .map_err(|e| format!("unusable {} payload: {e}", self.event_type.as_str()))
    }
}

macro_rules! payload {
    ($type:ty, $name:literal, |$p:ident| $key:expr) => {
        impl Payload for $type {
            const TYPE: &'static str = $name;

            fn key(&self) -> String {
                let $p = self;
                $key.to_string()
            }
        }
    };
}

/// What every request from Register carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRequest {
    /// The case.
    pub case_id: CaseId,
    /// Its reference, e.g. `VV-XQAE-PBE9-2`.
    pub reference: String,
    /// Its product, e.g. `visit-visa`.
    pub product: String,
    /// The step this request is; its result echoes it.
    pub step_id: StepId,
    /// The check's parameters from the product definition.
    #[serde(default)]
    pub params: Map<String, Value>,
}

/// What every result to Register carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// The case.
    pub case_id: CaseId,
    /// The step answered.
    pub step_id: StepId,
}

/// The person a check is about, as the application states them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subject {
    /// Given names.
    pub given_names: String,
    /// Surname.
    pub surname: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// ISO 3166 alpha-3 nationality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// The travel document presented (letters and digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
}

wire_enum!(
    /// How serious a finding is, least first.
    Severity {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
);

wire_enum!(
    /// What a check found.
    FindingKind {
        /// A warnings-index entry.
        Warning = "warning",
        /// A conviction or caution.
        CriminalRecord = "criminal-record",
        /// A travel document reported lost or stolen.
        LostStolenDocument = "lost-stolen-document",
    }
);

wire_enum!(
    /// What a finding matched on.
    MatchedOn {
        /// Names (in comparison form) and date of birth.
        NameAndDateOfBirth = "name-and-date-of-birth",
        /// The document's number.
        DocumentNumber = "document-number",
    }
);

/// Something a check found about the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// What it is.
    #[schema(value_type = String)]
    pub kind: FindingKind,
    /// The id of the record found.
    pub source_id: String,
    /// What matched.
    #[schema(value_type = String)]
    pub matched_on: MatchedOn,
    /// How serious.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// The warning's category, or a document's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// A sentence for caseworkers.
    pub summary: String,
    /// When the record was made (warning added, conviction, report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_on: Option<NaiveDate>,
    /// A criminal record's facts and whether it is spent on the day of the
    /// check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub conviction: Option<Conviction>,
}

/// A criminal record's facts (so a later reader can judge again on another
/// day) and the assessment on the day it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conviction {
    /// The facts.
    #[serde(flatten)]
    pub facts: casework_disclosure::RecordFacts,
    /// Spent, unspent, never spent or undetermined, why, and by which table.
    pub rehabilitation: casework_disclosure::Assessment,
}

/// A rule that fired in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's id.
    pub id: String,
    /// What it asked for.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// Whether it asks for enforcement action.
    pub enforce: bool,
}

/// The result of an identity document's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentCheck {
    /// The zone read with no failure.
    pub valid: bool,
    /// Every reason it did not, in the order of the zone.
    pub failures: Vec<String>,
    /// `TD1`, `TD3` or `MRV-A`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The document number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// The issuing state or organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_state: Option<String>,
    /// The holder's nationality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// The last day the document is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_expiry: Option<NaiveDate>,
    /// It expired before the day it was checked on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
    /// Its names and date of birth agree with the application (absent when
    /// there is no applicant to compare with, or the document's fields hold
    /// no names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches_applicant: Option<bool>,
    /// What the check saw: `printed-fields-only` when only the fields printed
    /// on the document were given (number, issuing state, dates) and the
    /// machine-readable zone was not seen; absent when the zone was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// The reason code of each failure, in the order of `failures` (printed
    /// fields only; a zone's failures have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_codes: Option<Vec<String>>,
}

/// `application.received.v1`: the intake recorded an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationReceived {
    /// The case it will open.
    pub case_id: CaseId,
    /// Its reference.
    pub reference: String,
    /// Its product.
    pub product: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// `online`, `paper` or `api`.
    pub channel: String,
}
payload!(ApplicationReceived, "application.received.v1", |p| p
    .case_id);

/// The identity document an `identify.requested` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentedDocument {
    /// The machine-readable zone's lines, in order.
    pub mrz: Vec<String>,
}

/// An identity document as its holder reads it from the data page, when
/// they cannot give its machine-readable zone. The values are as given:
/// Identify checks them (state codes, number format, real dates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedDocument {
    /// The document number.
    pub number: String,
    /// The issuing state or organisation, an ICAO 9303 code (`GBR`, `D`).
    pub issuing_state: String,
    /// The date of issue, `YYYY-MM-DD`.
    pub issue_date: String,
    /// The date of expiry, `YYYY-MM-DD`.
    pub expiry_date: String,
    /// The holder's sex as the application states it (`female`, `male`,
    /// `unspecified`), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
}

/// `identify.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentifyRequested {
    /// The request header.
    #[serde(flatten)]
    pub step: StepRequest,
    /// The day the application was made (documents are checked as of it).
    pub application_date: NaiveDate,
    /// The applicant.
    pub subject: Subject,
    /// The identity document, if the product asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<PresentedDocument>,
    /// The identity document's printed fields, when the application gives
    /// them and no machine-readable zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_document: Option<PrintedDocument>,
}
payload!(IdentifyRequested, "identify.requested.v1", |p| p
    .step
    .case_id);

/// `investigate.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvestigateRequested {
    /// The request header (`params.checks` names the checks).
    #[serde(flatten)]
    pub step: StepRequest,
    /// The applicant.
    pub subject: Subject,
}
payload!(InvestigateRequested, "investigate.requested.v1", |p| p
    .step
    .case_id);

/// `decide.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideRequested {
    /// The request header.
    #[serde(flatten)]
    pub step: StepRequest,
    /// The rule set to decide with (its latest version).
    pub rule_set: String,
    /// The application and every check's result, by check id.
    pub evidence: Map<String, Value>,
}
payload!(DecideRequested, "decide.requested.v1", |p| p.step.case_id);

/// `enforce.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnforceRequested {
    /// The request header.
    #[serde(flatten)]
    pub step: StepRequest,
    /// The kind of action, e.g. `refusal-false-document`.
    pub action: String,
    /// Whom it is about.
    pub subject: Subject,
    /// The decision's reasons.
    pub reasons: Vec<String>,
}
payload!(EnforceRequested, "enforce.requested.v1", |p| p.step.case_id);

/// The document a `fulfil.requested` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSpec {
    /// `passport`, `visa`, `dbs-certificate`.
    pub kind: String,
    /// Its machine-readable zone's format, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrz_format: Option<String>,
    /// How long it is valid for.
    pub valid_for_days: u32,
}

/// The person a document is for, as established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Given names.
    pub given_names: String,
    /// Surname.
    pub surname: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// ISO 3166 alpha-3 nationality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// `male`, `female` or `unspecified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// Identify's person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<PersonId>,
    /// The travel document the applicant holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
}

/// `fulfil.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FulfilRequested {
    /// The request header (`params.disclosure` for a certificate).
    #[serde(flatten)]
    pub step: StepRequest,
    /// What to issue.
    pub document: DocumentSpec,
    /// For whom.
    pub holder: Holder,
    /// For a certificate that states what checks found: every finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Vec<Finding>>,
}
payload!(FulfilRequested, "fulfil.requested.v1", |p| p.step.case_id);

/// Whom a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Their email address.
    pub email: String,
}

/// `communicate.requested.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunicateRequested {
    /// The case.
    pub case_id: CaseId,
    /// Its reference.
    pub reference: String,
    /// Its product.
    pub product: String,
    /// The milestone, e.g. `received`.
    pub milestone: String,
    /// The template, `<product>/<milestone>`.
    pub template: String,
    /// Whom to tell.
    pub recipient: Recipient,
    /// Values the template may use.
    pub personalisation: Map<String, Value>,
}
payload!(CommunicateRequested, "communicate.requested.v1", |p| p
    .case_id);

/// `case.stuck.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStuck {
    /// The case.
    pub case_id: CaseId,
    /// Its reference.
    pub reference: String,
    /// The step that did not answer, or whose answer was dead-lettered.
    pub step_id: StepId,
    /// Why.
    pub reason: String,
}
payload!(CaseStuck, "case.stuck.v1", |p| p.case_id);

/// `case.closed.v1` (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClosed {
    /// The case.
    pub case_id: CaseId,
    /// Its reference.
    pub reference: String,
    /// Its product.
    pub product: String,
    /// `granted` or `refused` on the wire.
    #[serde(with = "past_tense")]
    pub outcome: Outcome,
    /// When it closed.
    pub closed_at: DateTime<Utc>,
}
payload!(CaseClosed, "case.closed.v1", |p| p.case_id);

/// How Identify matched the applicant to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonMatch {
    /// `normalised-name-and-date-of-birth`: a person already in the index
    /// (since the matching engine, by weight of evidence: see `weights`);
    /// `new-person`: a new one (provisionally, with a review task, on a
    /// possible match).
    pub method: String,
    /// Why, for caseworkers.
    pub explanation: String,
    /// The engine's decision on the heaviest candidate: `match`,
    /// `possible-match` or `non-match` (absent when no person was a
    /// candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The heaviest candidate person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_person_id: Option<String>,
    /// Each field's comparison level and weight, the prior and the total
    /// (`casework_matching::Explanation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Value>,
    /// The review task raised on a possible match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<String>,
}

/// `identity.established.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityEstablished {
    /// The result header.
    #[serde(flatten)]
    pub step: StepResult,
    /// The person.
    pub person_id: PersonId,
    /// Whether the applicant matched a person already in the index.
    pub returning: bool,
    /// How.
    #[serde(rename = "match")]
    pub person_match: PersonMatch,
    /// `none`, `low`, `medium` or `high`.
    pub confidence: String,
    /// 0 none, 1 low, 2 medium, 3 high.
    pub confidence_rank: u8,
    /// Why the confidence is what it is.
    pub evidence: Vec<String>,
    /// The document check, when a document was presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentCheck>,
}
payload!(IdentityEstablished, "identity.established.v1", |p| p
    .step
    .case_id);

/// `investigation.completed.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvestigationCompleted {
    /// The result header.
    #[serde(flatten)]
    pub step: StepResult,
    /// The checks run, in order.
    pub checks: Vec<String>,
    /// What they found.
    pub findings: Vec<Finding>,
}
payload!(InvestigationCompleted, "investigation.completed.v1", |p| p
    .step
    .case_id);

/// `watchlist.entry.added.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistEntryAdded {
    /// The entry.
    pub entry_id: String,
    /// Whom it is about.
    pub subject: Subject,
    /// Its category.
    pub category: String,
    /// How serious.
    pub severity: Severity,
    /// `import`, `enforcement` or `seed`.
    pub source: String,
    /// The case that led to it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<CaseId>,
}
payload!(WatchlistEntryAdded, "watchlist.entry.added.v1", |p| p
    .entry_id);

/// `decision.made.v1`: a grant or a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionMade {
    /// The result header.
    #[serde(flatten)]
    pub step: StepResult,
    /// The rule set that decided.
    pub rule_set: String,
    /// Its version.
    pub rule_set_version: u32,
    /// Why.
    pub reasons: Vec<String>,
    /// Every rule that fired.
    pub fired: Vec<FiredRule>,
    /// Grant or refuse.
    pub outcome: Outcome,
    /// Whether the rules ask for enforcement action.
    pub enforce: bool,
    /// `rules`, or the subject of the caseworker's token.
    pub decided_by: String,
    /// The second person who approved a caseworker's decision, when the
    /// product asks for one for this outcome (four-eyes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}
payload!(DecisionMade, "decision.made.v1", |p| p.step.case_id);

/// `decision.referred.v1`: the rules referred the case to a caseworker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionReferred {
    /// The result header.
    #[serde(flatten)]
    pub step: StepResult,
    /// The rule set.
    pub rule_set: String,
    /// Its version.
    pub rule_set_version: u32,
    /// Why.
    pub reasons: Vec<String>,
    /// Every rule that fired.
    pub fired: Vec<FiredRule>,
}
payload!(DecisionReferred, "decision.referred.v1", |p| p.step.case_id);

/// The warnings-index entry an enforcement action asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistRequest {
    /// Its category.
    pub category: String,
    /// How serious.
    pub severity: Severity,
    /// A sentence for caseworkers.
    pub summary: String,
}

/// `enforcement.actioned.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforcementActioned {
    /// The result header.
    #[serde(flatten)]
    pub step: StepResult,
    /// The action recorded.
    pub action_id: String,
    /// Its kind.
    pub action: String,
    /// Whom it is about.
    pub subject: Subject,
    /// The warnings-index entry to add (null: none).
    pub watchlist: Option<WatchlistRequest>,
}
payload!(EnforcementActioned, "enforcement.actioned.v1", |p| p
    .step
    .case_id);

/// `alert.raised.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRaised {
    /// The alert.
    pub alert_id: String,
    /// The action that raised it.
    pub action_id: String,
    /// The case.
    pub case_id: CaseId,
    /// For officers.
    pub summary: String,
}
payload!(AlertRaised, "alert.raised.v1", |p| p.alert_id);

/// `document.issued.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentIssued {
    /// The result header.
    #[serde(flatten)]
    pub step: StepResult,
    /// The document's row.
    pub document_id: String,
    /// Its number.
    pub document_number: String,
    /// `passport`, `visa` or `dbs-certificate`.
    pub kind: String,
    /// Its machine-readable zone's lines, for 9303 documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrz: Option<Vec<String>>,
    /// When issued.
    pub issued_on: NaiveDate,
    /// The last day it is valid.
    pub valid_until: NaiveDate,
}
payload!(DocumentIssued, "document.issued.v1", |p| p.step.case_id);

/// `notification.sent.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSent {
    /// The case.
    pub case_id: CaseId,
    /// Its reference.
    pub reference: String,
    /// The milestone told of.
    pub milestone: String,
    /// The notification's row.
    pub notification_id: String,
    /// `email`, `sms` or `letter`.
    pub channel: String,
    /// Who carried it.
    pub provider: String,
    /// When it was handed over.
    pub sent_at: DateTime<Utc>,
}
payload!(NotificationSent, "notification.sent.v1", |p| p.case_id);

/// `person.merged.v1`: two persons of the index found to be one (a
/// caseworker linked a possible match, or merged a duplicate found late).
/// The merged person's records, documents and cases now belong to the
/// survivor; the merged id resolves to the survivor from now on. Ids only:
/// no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonMerged {
    /// The person who remains.
    pub person_id: PersonId,
    /// The person merged into them, whose id now resolves to `person_id`.
    pub merged_person_id: PersonId,
    /// The cases whose person changed, by case id.
    pub case_ids: Vec<CaseId>,
    /// The review task the merge settled, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<String>,
    /// When.
    pub merged_at: DateTime<Utc>,
}
payload!(PersonMerged, "person.merged.v1", |p| p.person_id);

/// `person.split.v1`: records wrongly joined to one person given to a new
/// person. Ids only: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSplit {
    /// The person the records were taken from.
    pub person_id: PersonId,
    /// The new person they now belong to.
    pub new_person_id: PersonId,
    /// How many records moved.
    pub records: u32,
    /// The cases whose person changed (to `new_person_id`), by case id.
    pub case_ids: Vec<CaseId>,
    /// When.
    pub split_at: DateTime<Utc>,
}
payload!(PersonSplit, "person.split.v1", |p| p.person_id);
