//! The three layouts of a machine-readable zone.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The layout of a zone: it fixes the line count, the line length and where
/// each field sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// Identity cards and other ID-1 size documents: 3 lines of 30
    /// (9303 part 5).
    #[serde(rename = "TD1")]
    Td1,
    /// Passport booklets: 2 lines of 44 (9303 part 4).
    #[serde(rename = "TD3")]
    Td3,
    /// Full-size visa vignettes: 2 lines of 44 (9303 part 7).
    #[serde(rename = "MRV-A")]
    MrvA,
}

impl Format {
    /// How many lines the zone has.
    pub const fn lines(self) -> usize {
        match self {
            Format::Td1 => 3,
            Format::Td3 | Format::MrvA => 2,
        }
    }

    /// How many characters each line has.
    pub const fn line_length(self) -> usize {
        match self {
            Format::Td1 => 30,
            Format::Td3 | Format::MrvA => 44,
        }
    }

    /// How many characters the name field holds; longer names are truncated.
    pub const fn name_width(self) -> usize {
        match self {
            Format::Td1 => 30,
            Format::Td3 | Format::MrvA => 39,
        }
    }

    /// The name 9303 uses, which is also the serialised form: `TD1`, `TD3`,
    /// `MRV-A`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Td1 => "TD1",
            Format::Td3 => "TD3",
            Format::MrvA => "MRV-A",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
