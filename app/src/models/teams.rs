//! The team constructor: teams, their input, and what attribution leaves unattributed.

use serde::{Deserialize, Serialize};

/// A team as the team constructor shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub team_id: i64,
    pub name: String,
    pub direction: String,
    /// `#rrggbb`.
    pub color: String,
    pub emoji: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    /// Case-insensitive substrings of UTM tags (`docs/product.md`, "Attribution").
    pub patterns: Vec<String>,
    pub telegram_chat_id: Option<String>,
    pub archived: bool,
}

/// UTM tags seen on leads and sales that no team claims, with how many carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnattributedTags {
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub leads: i64,
    pub sales: i64,
}

/// Attribution at a glance: re-attribution progress and what is left unattributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributionOverview {
    /// Percent of leads already attributed again, while a re-attribution runs.
    pub reattribution_percent: Option<i64>,
    /// Unattributed leads of the last 30 days (Almaty).
    pub unattributed_leads: i64,
    /// Unattributed sales of the last 30 days (Almaty), cancelled ones left out.
    pub unattributed_sales: i64,
    /// The most frequent tags among them.
    pub unattributed_tags: Vec<UnattributedTags>,
}

/// The team constructor's form as posted (fields named `team[name]` and so on); checked
/// on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInput {
    /// Empty for a new team.
    #[serde(default)]
    pub team_id: Option<i64>,
    pub name: String,
    #[serde(default)]
    pub direction: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub emoji: String,
    #[serde(default)]
    pub utm_source: String,
    #[serde(default)]
    pub utm_medium: String,
    /// Separated by commas or new lines.
    #[serde(default)]
    pub patterns: String,
    #[serde(default)]
    pub telegram_chat_id: String,
}

/// How sure an attribution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    /// The confidence stored as `value`.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::High, Self::Medium, Self::Low].into_iter().find(|confidence| confidence.as_str() == value)
    }

    /// The Russian word the pages show.
    pub fn russian(self) -> &'static str {
        match self {
            Self::High => "высокая",
            Self::Medium => "средняя",
            Self::Low => "низкая",
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

impl std::fmt::Display for Confidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
