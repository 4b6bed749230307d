//! The identity confidence level: how sure Identify is that the applicant is
//! who they say they are.
//!
//! The ladder, first rule that applies:
//!
//! | document presented | person | confidence |
//! |---|---|---|
//! | fails validation (any MRZ failure) | any | **none** |
//! | valid, but name or date of birth differ from the application | any | **none** |
//! | valid, matches the applicant, not expired on the application date | any | **high** |
//! | valid, matches the applicant, expired | any | **medium** |
//! | printed fields only (zone not seen), consistent, not expired | any | **medium** |
//! | printed fields only (zone not seen), consistent, expired | any | **low** |
//! | none, and the product requires one (`params.document_required`, default true) | any | **none** |
//! | none, not required | returning, with a matching document on record from an earlier check | **medium** |
//! | none, not required | new, or returning without a document on record | **low** |
//!
//! Printed fields typed from the data page have no check digits and no names
//! to compare, so they never rate above medium: enough for a product whose
//! rules ask for medium, never the high a zone that agrees earns. Failing
//! printed fields are a document that fails validation (**none**).
//!
//! A name-and-date-of-birth match alone (a returning person) never raises
//! confidence: anyone can state a name and a birthday. What raises it is a
//! valid document that agrees with the application, now or earlier.

use serde::{Deserialize, Serialize};

/// A confidence level; ordered, `none` lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Identity not established.
    None,
    /// Stated details only.
    Low,
    /// Some documentary evidence, but not current.
    Medium,
    /// A valid, current document that agrees with the application.
    High,
}

impl Confidence {
    /// 0 none, 1 low, 2 medium, 3 high (the event's `confidence_rank`).
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// `none`, `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::None => "none",
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What the document check concluded, as far as confidence cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFinding {
    /// No document was presented.
    Absent,
    /// The zone failed validation.
    Invalid,
    /// A valid zone, but for someone else (name or date of birth differ).
    NotTheApplicants,
    /// A valid zone for the applicant, expired on the application date.
    Expired,
    /// A valid zone for the applicant, in date.
    Good,
    /// Consistent printed fields, in date; the zone was not seen and no names
    /// could be compared.
    PrintedOnly,
    /// Consistent printed fields of an expired document; the zone was not
    /// seen.
    PrintedOnlyExpired,
}

/// The facts the ladder looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The document check.
    pub document: DocumentFinding,
    /// Whether the product requires a document.
    pub document_required: bool,
    /// Whether the applicant matched a person already in the index.
    pub returning: bool,
    /// Whether that person has a matching document on record from an
    /// earlier check.
    pub documented_before: bool,
}

/// The confidence the facts support, with the rule that decided it (one line
/// of evidence).
pub fn rate(facts: &Facts) -> (Confidence, &'static str) {
    use DocumentFinding::*;
    match facts.document {
        Invalid => (Confidence::None, "the document presented failed validation"),
        NotTheApplicants => (
            Confidence::None,
            "the document presented is not the applicant's",
        ),
        Good => (
            Confidence::High,
            "a valid, unexpired document agrees with the application",
        ),
        Expired => (
            Confidence::Medium,
            "a valid document agrees with the application but has expired",
        ),
        PrintedOnly => (
            Confidence::Medium,
            "the printed fields of an unexpired document are consistent, but its machine-readable zone was not seen",
        ),
        PrintedOnlyExpired => (
            Confidence::Low,
            "the printed fields of an expired document are consistent, but its machine-readable zone was not seen",
        ),
        Absent if facts.document_required => (
            Confidence::None,
            "the product requires an identity document and none was presented",
        ),
        Absent if facts.returning && facts.documented_before => (
            Confidence::Medium,
            "no document was required; the returning person has a matching document on record",
        ),
        Absent => (
            Confidence::Low,
            "no document was required or presented; only the stated details support the identity",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(document: DocumentFinding) -> Facts {
        Facts {
            document,
            document_required: true,
            returning: false,
            documented_before: false,
        }
    }

    #[test]
    fn a_document_decides_when_there_is_one() {
        use DocumentFinding::*;
        assert_eq!(rate(&facts(Good)).0, Confidence::High);
        assert_eq!(rate(&facts(Expired)).0, Confidence::Medium);
        assert_eq!(rate(&facts(Invalid)).0, Confidence::None);
        assert_eq!(rate(&facts(NotTheApplicants)).0, Confidence::None);
        // Printed fields only: never above medium.
        assert_eq!(rate(&facts(PrintedOnly)).0, Confidence::Medium);
        assert_eq!(rate(&facts(PrintedOnlyExpired)).0, Confidence::Low);
        assert!(rate(&facts(PrintedOnly)).1.contains("zone was not seen"));
        // Being a returning person does not rescue a bad document.
        let returning = Facts {
            returning: true,
            documented_before: true,
            ..facts(NotTheApplicants)
        };
        assert_eq!(rate(&returning).0, Confidence::None);
    }

    #[test]
    fn without_a_document() {
        let absent = facts(DocumentFinding::Absent);
        assert_eq!(rate(&absent).0, Confidence::None, "required but absent");
        let optional = Facts {
            document_required: false,
            ..absent
        };
        assert_eq!(rate(&optional).0, Confidence::Low, "new person");
        let returning = Facts {
            returning: true,
            ..optional
        };
        assert_eq!(
            rate(&returning).0,
            Confidence::Low,
            "name and birthday only"
        );
        let documented = Facts {
            documented_before: true,
            ..returning
        };
        assert_eq!(rate(&documented).0, Confidence::Medium);
    }

    #[test]
    fn ranks_and_names() {
        let all = [
            Confidence::None,
            Confidence::Low,
            Confidence::Medium,
            Confidence::High,
        ];
        for (rank, level) in all.iter().enumerate() {
            assert_eq!(usize::from(level.rank()), rank);
            assert_eq!(
                serde_json::to_value(level).ok(),
                Some(serde_json::Value::from(level.as_str()))
            );
        }
        assert!(Confidence::High > Confidence::Medium);
    }
}
