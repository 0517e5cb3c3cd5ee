//! Attribution (`docs/product.md`, "Attribution"): which team's ads brought a lead or a sale, how sure we are, and
//! why — the rule that matched is kept with the lead and shown on the dashboard.
//!
//! The rules, in order:
//! 1. `utm_source` equals a team's `utm_source` → **high**;
//! 2. `utm_source` is `fb_<team name>` → **medium**;
//! 3. a team's pattern is contained in `utm_source`, else `utm_campaign`, else
//!    `utm_medium`, else the quiz campaign's slug (`kenesary` of `proftest_kenesary`)
//!    → **medium**;
//! 4. nothing matches → no team, **low**.
//!
//! The slug comes last because the UTM tags are set per ad by the team that paid for it,
//! while one quiz page may be shared; and it is matched without its `proftest_` prefix,
//! so Traf4's `proftest` pattern does not take every quiz lead.
//!
//! All comparisons ignore case (Cyrillic included) and surrounding spaces. Where several
//! teams match the same rule the result is still deterministic:
//! - a tag earlier in the list source → campaign → medium wins (the first tag with any
//!   match decides);
//! - within that tag, the longest pattern wins (`kenesary_onai` is Kenesary's, not Muha's
//!   `onai`: the more specific pattern explains more of the tag);
//! - patterns of equal length (`pb_agency` belongs to Kenesary and Traf4) go to the team
//!   first in the teams' order (`sort_order`, then id), the order the admin sees.
//!
//! Archived teams never match.

pub use crate::models::Confidence;

/// A team's attribution rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRules {
    pub team_id: i64,
    pub name: String,
    pub utm_source: Option<String>,
    pub patterns: Vec<String>,
    /// The teams' display order; earlier wins a tie.
    pub sort_order: i64,
}

/// The UTM tags of a lead or a sale, and a quiz lead's campaign slug.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UtmTags<'a> {
    pub source: Option<&'a str>,
    pub medium: Option<&'a str>,
    pub campaign: Option<&'a str>,
    /// The quiz page's slug (`/integrator/proftest/<slug>`); sales have none.
    pub slug: Option<&'a str>,
}

/// The outcome: the team (if any), the confidence and the rule that decided, in Russian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub team_id: Option<i64>,
    pub confidence: Confidence,
    pub rule: String,
}

/// The teams' rules, normalised once, ready to attribute many leads.
#[derive(Debug, Clone, Default)]
pub struct Attributor {
    /// In tie-break order.
    teams: Vec<NormalisedTeam>,
}

#[derive(Debug, Clone)]
struct NormalisedTeam {
    team_id: i64,
    utm_source: Option<String>,
    fb_source: String,
    /// Longest first, so the first hit in a tag is this team's most specific one.
    patterns: Vec<String>,
}

impl Attributor {
    /// Rules for `teams` (archived teams already left out by the caller).
    pub fn new(teams: &[TeamRules]) -> Self {
        let mut ordered: Vec<&TeamRules> = teams.iter().collect();
        ordered.sort_by_key(|team| (team.sort_order, team.team_id));
        let teams = ordered
            .into_iter()
            .map(|team| {
                let mut patterns: Vec<String> = team
                    .patterns
                    .iter()
                    .map(|pattern| normalise(pattern))
                    .filter(|pattern| !pattern.is_empty())
                    .collect();
                patterns.sort_by_key(|pattern| std::cmp::Reverse(pattern.chars().count()));
                NormalisedTeam {
                    team_id: team.team_id,
                    utm_source: team.utm_source.as_deref().map(normalise).filter(|source| !source.is_empty()),
                    fb_source: format!("fb_{}", normalise(&team.name)),
                    patterns,
                }
            })
            .collect();
        Self { teams }
    }

    /// Attributes one set of tags.
    pub fn attribute(&self, tags: UtmTags<'_>) -> Attribution {
        let source = tags.source.map(normalise).filter(|tag| !tag.is_empty());
        if let Some(source) = &source {
            if let Some(team) = self.teams.iter().find(|team| team.utm_source.as_ref() == Some(source)) {
                return Attribution {
                    team_id: Some(team.team_id),
                    confidence: Confidence::High,
                    rule: format!("utm_source «{source}» — источник команды"),
                };
            }
            if let Some(team) = self.teams.iter().find(|team| &team.fb_source == source) {
                return Attribution {
                    team_id: Some(team.team_id),
                    confidence: Confidence::Medium,
                    rule: format!("utm_source «{source}» = fb_<команда>"),
                };
            }
        }
        let fields = [
            ("utm_source", source),
            ("utm_campaign", tags.campaign.map(normalise)),
            ("utm_medium", tags.medium.map(normalise)),
            ("slug квиза", tags.slug.map(normalise)),
        ];
        for (field, value) in fields {
            let Some(value) = value.filter(|value| !value.is_empty()) else { continue };
            let best = self
                .teams
                .iter()
                .filter_map(|team| {
                    team.patterns.iter().find(|pattern| value.contains(pattern.as_str())).map(|pattern| (team, pattern))
                })
                // `max_by_key` keeps the last of equals: reversing keeps the first team of a tie.
                .rev()
                .max_by_key(|(_, pattern)| pattern.chars().count());
            if let Some((team, pattern)) = best {
                return Attribution {
                    team_id: Some(team.team_id),
                    confidence: Confidence::Medium,
                    rule: format!("«{pattern}» в {field}"),
                };
            }
        }
        Attribution { team_id: None, confidence: Confidence::Low, rule: "нет совпадений".to_owned() }
    }
}

fn normalise(text: &str) -> String {
    text.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KENESARY: i64 = 1;
    const ARYSTAN: i64 = 2;
    const MUHA: i64 = 3;
    const TRAF4: i64 = 4;

    /// The four teams of `docs/product.md`, "Attribution"; Arystan also has an exact `utm_source`.
    fn business_teams() -> Attributor {
        let team = |team_id, name: &str, utm_source: Option<&str>, patterns: &[&str]| TeamRules {
            team_id,
            name: name.to_owned(),
            utm_source: utm_source.map(str::to_owned),
            patterns: patterns.iter().map(|pattern| (*pattern).to_owned()).collect(),
            sort_order: team_id,
        };
        Attributor::new(&[
            team(TRAF4, "Traf4", None, &["alex", "traf4", "proftest", "pb_agency", "smmmcwin", "3-1"]),
            team(
                MUHA,
                "Muha",
                None,
                &["onai", "on ai", "запуск", "muha", "yourmarketolog", "maqtakyz", "residence", "yourteam", "tima"],
            ),
            team(ARYSTAN, "Arystan", Some("ig_arystan_ads"), &["arystan", "ar_", "ast_", "rm almaty", "rm_almaty"]),
            team(
                KENESARY,
                "Kenesary",
                None,
                &["tripwire", "nutcab", "kenesary", "nutrients", "kab3", "1day", "pb_agency", "kenji", "kenes"],
            ),
        ])
    }

    /// (`utm_source`, `utm_campaign`, `utm_medium`) → (team, confidence, rule).
    type Case =
        ((Option<&'static str>, Option<&'static str>, Option<&'static str>), Option<i64>, Confidence, &'static str);

    #[test]
    fn utm_combinations_from_the_spec_attribute_as_documented() {
        use Confidence::{High, Low, Medium};
        let cases: &[Case] = &[
            // 1. Exact utm_source.
            (
                (Some("ig_arystan_ads"), None, None),
                Some(ARYSTAN),
                High,
                "utm_source «ig_arystan_ads» — источник команды",
            ),
            (
                (Some("IG_Arystan_Ads"), Some("onai"), None),
                Some(ARYSTAN),
                High,
                "utm_source «ig_arystan_ads» — источник команды",
            ),
            (
                (Some("  ig_arystan_ads "), None, None),
                Some(ARYSTAN),
                High,
                "utm_source «ig_arystan_ads» — источник команды",
            ),
            // 2. fb_<team>.
            ((Some("fb_kenesary"), None, None), Some(KENESARY), Medium, "utm_source «fb_kenesary» = fb_<команда>"),
            ((Some("FB_Kenesary"), None, None), Some(KENESARY), Medium, "utm_source «fb_kenesary» = fb_<команда>"),
            (
                (Some("fb_muha"), Some("kenesary_launch"), None),
                Some(MUHA),
                Medium,
                "utm_source «fb_muha» = fb_<команда>",
            ),
            ((Some("fb_arystan"), None, None), Some(ARYSTAN), Medium, "utm_source «fb_arystan» = fb_<команда>"),
            ((Some("fb_traf4"), None, None), Some(TRAF4), Medium, "utm_source «fb_traf4» = fb_<команда>"),
            // 3. Patterns in utm_source.
            ((Some("tripwire_ads"), None, None), Some(KENESARY), Medium, "«tripwire» в utm_source"),
            ((Some("nutcab"), None, None), Some(KENESARY), Medium, "«nutcab» в utm_source"),
            ((Some("kab3-retarget"), None, None), Some(KENESARY), Medium, "«kab3» в utm_source"),
            ((Some("promo_1day"), None, None), Some(KENESARY), Medium, "«1day» в utm_source"),
            ((Some("kenji_fb"), None, None), Some(KENESARY), Medium, "«kenji» в utm_source"),
            ((Some("rm_almaty_stories"), None, None), Some(ARYSTAN), Medium, "«rm_almaty» в utm_source"),
            ((Some("ast_lookalike"), None, None), Some(ARYSTAN), Medium, "«ast_» в utm_source"),
            ((Some("yourmarketolog"), None, None), Some(MUHA), Medium, "«yourmarketolog» в utm_source"),
            ((Some("smmmcwin"), None, None), Some(TRAF4), Medium, "«smmmcwin» в utm_source"),
            ((Some("alex_target"), None, None), Some(TRAF4), Medium, "«alex» в utm_source"),
            // Patterns in utm_campaign, then utm_medium.
            ((Some("facebook"), Some("Запуск курса"), None), Some(MUHA), Medium, "«запуск» в utm_campaign"),
            ((Some("facebook"), Some("ЗАПУСК_ноябрь"), None), Some(MUHA), Medium, "«запуск» в utm_campaign"),
            ((Some("instagram"), Some("residence_nov"), None), Some(MUHA), Medium, "«residence» в utm_campaign"),
            ((Some("instagram"), Some("On AI webinar"), None), Some(MUHA), Medium, "«on ai» в utm_campaign"),
            ((Some("instagram"), Some("maqtakyz"), None), Some(MUHA), Medium, "«maqtakyz» в utm_campaign"),
            ((Some("facebook"), Some("RM Almaty leads"), None), Some(ARYSTAN), Medium, "«rm almaty» в utm_campaign"),
            ((Some("facebook"), Some("proftest_quiz"), None), Some(TRAF4), Medium, "«proftest» в utm_campaign"),
            ((Some("facebook"), Some("sale-3-1"), None), Some(TRAF4), Medium, "«3-1» в utm_campaign"),
            ((Some("facebook"), None, Some("traf4_cpc")), Some(TRAF4), Medium, "«traf4» в utm_medium"),
            ((None, None, Some("nutrients")), Some(KENESARY), Medium, "«nutrients» в utm_medium"),
            ((Some(""), Some(""), Some("yourteam")), Some(MUHA), Medium, "«yourteam» в utm_medium"),
            // The first tag with a match decides, even over a longer pattern later.
            ((Some("tima"), Some("kenesary_flagship"), None), Some(MUHA), Medium, "«tima» в utm_source"),
            ((Some("facebook"), Some("muha"), Some("kenesary")), Some(MUHA), Medium, "«muha» в utm_campaign"),
            // Overlaps inside one tag: the longest pattern wins.
            ((Some("facebook"), Some("kenesary_onai"), None), Some(KENESARY), Medium, "«kenesary» в utm_campaign"),
            ((Some("facebook"), Some("onai_kenes"), None), Some(KENESARY), Medium, "«kenes» в utm_campaign"),
            ((Some("facebook"), Some("kenes_onai_launch"), None), Some(KENESARY), Medium, "«kenes» в utm_campaign"),
            ((Some("facebook"), Some("arystan_onai"), None), Some(ARYSTAN), Medium, "«arystan» в utm_campaign"),
            (
                (Some("facebook"), Some("yourmarketolog_alex"), None),
                Some(MUHA),
                Medium,
                "«yourmarketolog» в utm_campaign",
            ),
            // Equal length in two teams: the first team in order (Kenesary before Traf4).
            ((Some("pb_agency"), None, None), Some(KENESARY), Medium, "«pb_agency» в utm_source"),
            ((Some("facebook"), Some("PB_AGENCY_test"), None), Some(KENESARY), Medium, "«pb_agency» в utm_campaign"),
            // fb_ with something that is not a team name falls through to the patterns.
            ((Some("fb_kenesary2"), None, None), Some(KENESARY), Medium, "«kenesary» в utm_source"),
            ((Some("fb_unknown"), Some("onai"), None), Some(MUHA), Medium, "«onai» в utm_campaign"),
            // 4. Nothing.
            ((None, None, None), None, Low, "нет совпадений"),
            ((Some(""), Some("  "), None), None, Low, "нет совпадений"),
            ((Some("google"), Some("brand"), Some("cpc")), None, Low, "нет совпадений"),
            ((Some("fb_"), None, None), None, Low, "нет совпадений"),
            ((Some("кенесары"), None, None), None, Low, "нет совпадений"),
        ];
        assert!(cases.len() >= 40);
        let attributor = business_teams();
        for ((source, campaign, medium), team_id, confidence, rule) in cases {
            let tags = UtmTags { source: *source, campaign: *campaign, medium: *medium, slug: None };
            let got = attributor.attribute(tags);
            assert_eq!(
                got,
                Attribution { team_id: *team_id, confidence: *confidence, rule: (*rule).to_owned() },
                "for {tags:?}"
            );
        }
    }

    #[test]
    fn the_quiz_slug_is_the_last_tag_read() {
        let attributor = business_teams();
        let quiz = |source, campaign, slug| UtmTags { source, campaign, slug: Some(slug), ..UtmTags::default() };
        // No UTM tags: the slug decides, and Traf4's `proftest` is not read into it.
        let got = attributor.attribute(quiz(None, None, "kenesary"));
        assert_eq!(
            got,
            Attribution {
                team_id: Some(KENESARY),
                confidence: Confidence::Medium,
                rule: "«kenesary» в slug квиза".into()
            }
        );
        assert_eq!(attributor.attribute(quiz(None, None, "Muha-Spring")).team_id, Some(MUHA));
        assert_eq!(attributor.attribute(quiz(None, None, "spring")).team_id, None);
        // UTM tags that match decide before it.
        assert_eq!(attributor.attribute(quiz(Some("fb_arystan"), None, "kenesary")).team_id, Some(ARYSTAN));
        assert_eq!(attributor.attribute(quiz(Some("facebook"), Some("tima_nov"), "kenesary")).team_id, Some(MUHA));
        // Tags that match nothing leave it to the slug.
        assert_eq!(attributor.attribute(quiz(Some("facebook"), Some("brand"), "kenesary")).team_id, Some(KENESARY));
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_teams_are_given_in() {
        let teams = |reverse: bool| {
            let mut teams = vec![
                TeamRules {
                    team_id: 1,
                    name: "A".into(),
                    utm_source: None,
                    patterns: vec!["pb_agency".into()],
                    sort_order: 2,
                },
                TeamRules {
                    team_id: 2,
                    name: "B".into(),
                    utm_source: None,
                    patterns: vec!["pb_agency".into()],
                    sort_order: 1,
                },
            ];
            if reverse {
                teams.reverse();
            }
            Attributor::new(&teams)
        };
        let tags = UtmTags { source: Some("pb_agency"), ..UtmTags::default() };
        assert_eq!(teams(false).attribute(tags).team_id, Some(2));
        assert_eq!(teams(true).attribute(tags).team_id, Some(2));
    }
}
