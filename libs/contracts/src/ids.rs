//! Typed ids and statuses: what travels as a string on the wire and in the
//! databases, with a type in Rust so that a case id is never passed where a
//! person id belongs, and a status is one of its values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A case's id (a UUID): the record key of every event about the case.
    CaseId
);
uuid_id!(
    /// A person's id in Identify's index (a UUID).
    PersonId
);

/// Correlates a request with its result: `case / stage / check / attempt`,
/// as `case_steps` records it and every result echoes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepId {
    /// The case.
    pub case_id: CaseId,
    /// The stage of the product (or `outcome` for the outcome route).
    pub stage: String,
    /// The check within the stage (or `fulfil`, `enforce`).
    pub check: String,
    /// 1 for the first request, then one more for each retry.
    pub attempt: u32,
}

impl StepId {
    /// The step of `check` in `stage` of a case, at `attempt`.
    pub fn new(case_id: &CaseId, stage: &str, check: &str, attempt: u32) -> Self {
        Self {
            case_id: case_id.clone(),
            stage: stage.to_owned(),
            check: check.to_owned(),
            attempt,
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.case_id, self.stage, self.check, self.attempt
        )
    }
}

impl FromStr for StepId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("`{text}` is not a step id (case/stage/check/attempt)");
        let mut parts = text.split('/');
        let (Some(case_id), Some(stage), Some(check), Some(attempt), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(wrong());
        };
        if [case_id, stage, check].iter().any(|p| p.is_empty()) {
            return Err(wrong());
        }
        Ok(Self {
            case_id: CaseId::from(case_id),
            stage: stage.to_owned(),
            check: check.to_owned(),
            attempt: attempt.parse().map_err(|_| wrong())?,
        })
    }
}

impl Serialize for StepId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StepId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Declares a string enum: its wire spellings, `as_str`, `parse`, serde.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Its spelling on the wire and in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// The value spelled `text`.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// The seven capabilities: the only producers and consumers of events,
    /// each a service with its own topic (`casework.<service>`) and database.
    Service {
        /// Applications, cases and the process manager.
        Register = "register",
        /// Who an applicant is.
        Identify = "identify",
        /// Warnings, criminal records, lost and stolen documents.
        Investigate = "investigate",
        /// Rules and referrals.
        Decide = "decide",
        /// Enforcement actions and alerts.
        Enforce = "enforce",
        /// Status documents.
        Fulfil = "fulfil",
        /// Notifications.
        Communicate = "communicate",
    }
);

impl Service {
    /// The topic it publishes on (without a test prefix).
    pub fn topic(self) -> String {
        crate::catalogue::topic_of_service(self.as_str())
    }
}

wire_enum!(
    /// Where a case is.
    CaseStatus {
        /// Acknowledged; the process manager has not opened it yet.
        Received = "received",
        /// Its checks are running.
        InProgress = "in-progress",
        /// Waiting for a caseworker's decision.
        Referred = "referred",
        /// Decided; its outcome route is running.
        Decided = "decided",
        /// Done.
        Closed = "closed",
    }
);

wire_enum!(
    /// Where one request to a capability is.
    StepStatus {
        /// Asked; no answer yet.
        Requested = "requested",
        /// Answered.
        Done = "done",
        /// Decide referred it to a caseworker.
        Referred = "referred",
        /// Past its deadline with no answer.
        Stuck = "stuck",
        /// Another attempt of the same check answered first.
        Replaced = "replaced",
    }
);

wire_enum!(
    /// What a rule, or a decision, says should happen to a case. Ordered by
    /// severity, `Grant < Refer < Refuse`: when several rules fire the
    /// decision takes the most severe, so a refusal is never hidden by a
    /// referral nor a referral by a grant. Cases spell the final two in the
    /// past tense (`granted`, `refused` in `case.closed`): see
    /// [`Outcome::past_tense`].
    Outcome {
        /// Granted automatically.
        Grant = "grant",
        /// A caseworker must decide.
        Refer = "refer",
        /// Refused.
        Refuse = "refuse",
    }
);

impl Outcome {
    /// `granted` or `refused`, as a closed case records it; `None` for a
    /// referral, which never closes a case.
    pub fn past_tense(self) -> Option<&'static str> {
        match self {
            Outcome::Grant => Some("granted"),
            Outcome::Refuse => Some("refused"),
            Outcome::Refer => None,
        }
    }

    /// The outcome a closed case's `granted` or `refused` names.
    pub fn from_past_tense(text: &str) -> Option<Outcome> {
        match text {
            "granted" => Some(Outcome::Grant),
            "refused" => Some(Outcome::Refuse),
            _ => None,
        }
    }
}

/// Serde for an [`Outcome`] spelled in the past tense (`case.closed`).
pub mod past_tense {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Outcome;

    /// `granted` or `refused`; a referral cannot be written.
    pub fn serialize<S: Serializer>(outcome: &Outcome, serializer: S) -> Result<S::Ok, S::Error> {
        match outcome.past_tense() {
            Some(text) => serializer.serialize_str(text),
            None => Err(serde::ser::Error::custom(
                "a referral does not close a case",
            )),
        }
    }

    /// `granted` or `refused`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome, D::Error> {
        let text = String::deserialize(deserializer)?;
        Outcome::from_past_tense(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not granted or refused")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_read_and_print_the_same() {
        let text = "01a24dd9-e270-7860-b4e2-31ddd6518285/checks/identity/2";
        let step: StepId = text.parse().unwrap();
        assert_eq!(step.stage, "checks");
        assert_eq!(step.check, "identity");
        assert_eq!(step.attempt, 2);
        assert_eq!(step.to_string(), text);
        for bad in ["", "a/b/c", "a/b/c/d", "a/b/c/1/2", "/b/c/1"] {
            assert!(bad.parse::<StepId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_and_outcomes_keep_their_wire_spellings() {
        assert_eq!(CaseStatus::InProgress.as_str(), "in-progress");
        assert_eq!(CaseStatus::parse("closed"), Some(CaseStatus::Closed));
        assert_eq!(StepStatus::parse("lost"), None);
        assert_eq!(
            serde_json::to_value(Outcome::Grant).unwrap(),
            serde_json::json!("grant")
        );
        assert_eq!(Outcome::Refuse.past_tense(), Some("refused"));
        assert!(Outcome::Grant < Outcome::Refer && Outcome::Refer < Outcome::Refuse);
        assert_eq!(Outcome::from_past_tense("granted"), Some(Outcome::Grant));
    }
}
