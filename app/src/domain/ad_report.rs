//! The ads report (`docs/product.md`, "Dashboards"): spend, leads and sales per campaign,
//! ad set and ad, so that media buyers see which ads pay for themselves.
//!
//! Spend comes per ad from Facebook's insights. Leads and sales carry the UTM tags the ads'
//! URL parameters filled in (`utm_campaign={{campaign.id}}`, `utm_term={{adset.id}}`,
//! `utm_content={{ad.id}}`; see the README). Each group of leads or sales joins:
//! 1. the ad whose id, else whose name, is its `utm_content`;
//! 2. else the ad set whose id or name is its `utm_term` (under «объявление не указано»);
//! 3. else the campaign whose id or name is its `utm_campaign` (under «группа не указана»);
//! 4. else the row of unmatched leads.
//!
//! Names compare without case or surrounding spaces; a name that two ads share identifies
//! neither. Spend that names no campaign (entered by hand) is a row of its own. Nothing is
//! dropped: the rows add up to the total, which is the funnel's.

use std::collections::{BTreeMap, HashMap};

use crate::domain::funnel::{cost_per, tenge};
use crate::models::{AdLevel, AdRow};

/// One ad's spend over the range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendLine {
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    pub adset_id: Option<String>,
    pub adset_name: Option<String>,
    pub ad_id: String,
    pub ad_name: Option<String>,
    /// Tiyn (hundredths of a tenge).
    pub spend_kzt_minor: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// Leads or sales that share their tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaggedResults {
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub results: Results,
}

/// What leads and sales bring to a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Results {
    pub leads: i64,
    pub express_sales: i64,
    pub flagship_sales: i64,
    /// Whole tenge.
    pub revenue: i64,
}

/// The figures a node adds up.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    spend_kzt_minor: i64,
    impressions: i64,
    clicks: i64,
    results: Results,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.spend_kzt_minor += other.spend_kzt_minor;
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.results.leads += other.results.leads;
        self.results.express_sales += other.results.express_sales;
        self.results.flagship_sales += other.results.flagship_sales;
        self.results.revenue += other.results.revenue;
    }
}

/// Where a group lands: a campaign, an ad set of it and an ad of that (keys).
type Path = (String, String, String);

/// The key of a part whose campaign, ad set or ad the tags did not name.
const UNNAMED: &str = "";
/// The top-level keys of the two rows outside the campaigns.
const UNMATCHED_SPEND: &str = "\u{0}spend";
const UNMATCHED_LEADS: &str = "\u{0}leads";

#[derive(Debug, Default)]
struct Node {
    id: Option<String>,
    name: Option<String>,
    own: Figures,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn child(&mut self, key: &str, id: Option<&String>, name: Option<&String>) -> &mut Node {
        let node = self.children.entry(key.to_owned()).or_default();
        if node.id.is_none() {
            node.id = id.cloned();
        }
        if node.name.is_none() {
            node.name = name.cloned();
        }
        node
    }

    fn at(&mut self, (campaign, adset, ad): &Path) -> &mut Node {
        let campaign = self.children.entry(campaign.clone()).or_default();
        let adset = campaign.children.entry(adset.clone()).or_default();
        adset.children.entry(ad.clone()).or_default()
    }
}

/// Finds where tags point: ads, ad sets and campaigns by id and by name. An ad set's path
/// ends at its unnamed ad, a campaign's at its unnamed ad set.
#[derive(Debug, Default)]
struct Index {
    ads: HashMap<String, Path>,
    ad_names: HashMap<String, Option<Path>>,
    adsets: HashMap<String, Option<Path>>,
    campaigns: HashMap<String, Option<Path>>,
}

impl Index {
    /// Remembers `key → path`; a key that two different paths claim points nowhere.
    fn claim(map: &mut HashMap<String, Option<Path>>, key: String, path: Path) {
        map.entry(key)
            .and_modify(|known| {
                if known.as_ref() != Some(&path) {
                    *known = None
                }
            })
            .or_insert(Some(path));
    }

    fn resolve(&self, tags: &TaggedResults) -> Option<Path> {
        let look = |map: &HashMap<String, Option<Path>>, tag: &Option<String>| {
            tag.as_deref().map(normalise).and_then(|tag| map.get(&tag).cloned().flatten())
        };
        let by_ad_id = tags.utm_content.as_deref().and_then(|tag| self.ads.get(tag.trim()).cloned());
        by_ad_id
            .or_else(|| look(&self.ad_names, &tags.utm_content))
            .or_else(|| look(&self.adsets, &tags.utm_term))
            .or_else(|| look(&self.campaigns, &tags.utm_campaign))
    }
}

fn normalise(text: &str) -> String {
    text.trim().to_lowercase()
}

/// The report's rows (campaigns by spend, then unmatched spend and unmatched leads) and
/// their total.
pub fn build(spend: &[SpendLine], leads: &[TaggedResults], sales: &[TaggedResults]) -> (Vec<AdRow>, AdRow) {
    let mut root = Node::default();
    let mut index = Index::default();
    for line in spend {
        let figures = Figures {
            spend_kzt_minor: line.spend_kzt_minor,
            impressions: line.impressions,
            clicks: line.clicks,
            ..Figures::default()
        };
        let Some(campaign) = line.campaign_id.clone().or_else(|| line.campaign_name.clone()) else {
            root.child(UNMATCHED_SPEND, None, None).own.add(&figures);
            continue;
        };
        let adset = line.adset_id.clone().or_else(|| line.adset_name.clone()).unwrap_or_default();
        let path: Path = (campaign.clone(), adset.clone(), line.ad_id.clone());
        let campaign_node = root.child(&campaign, line.campaign_id.as_ref(), line.campaign_name.as_ref());
        let adset_node = campaign_node.child(&adset, line.adset_id.as_ref(), line.adset_name.as_ref());
        adset_node.child(&line.ad_id, Some(&line.ad_id), line.ad_name.as_ref()).own.add(&figures);

        index.ads.entry(line.ad_id.clone()).or_insert_with(|| path.clone());
        if let Some(name) = &line.ad_name {
            Index::claim(&mut index.ad_names, normalise(name), path.clone());
        }
        for key in [&line.adset_id, &line.adset_name].into_iter().flatten() {
            Index::claim(&mut index.adsets, normalise(key), (campaign.clone(), adset.clone(), UNNAMED.into()));
        }
        for key in [&line.campaign_id, &line.campaign_name].into_iter().flatten() {
            Index::claim(&mut index.campaigns, normalise(key), (campaign.clone(), UNNAMED.into(), UNNAMED.into()));
        }
    }
    for group in leads.iter().chain(sales) {
        let figures = Figures { results: group.results, ..Figures::default() };
        match index.resolve(group) {
            Some(path) => root.at(&path).own.add(&figures),
            None => root.child(UNMATCHED_LEADS, None, None).own.add(&figures),
        }
    }

    let mut total = Figures::default();
    let mut rows: Vec<AdRow> = root
        .children
        .into_iter()
        .map(|(key, node)| {
            let level = match key.as_str() {
                UNMATCHED_SPEND => AdLevel::UnmatchedSpend,
                UNMATCHED_LEADS => AdLevel::UnmatchedLeads,
                _ => AdLevel::Campaign,
            };
            let (row, figures) = row(level, node);
            total.add(&figures);
            row
        })
        .collect();
    // Campaigns by spend, then the two unmatched rows.
    rows.sort_by_key(|row| (row.level, std::cmp::Reverse(row.spend)));
    (rows, finish(AdLevel::Total, None, "Итого".to_owned(), total, Vec::new()))
}

/// The row of `node` and its children, and its figures added up from the leaves (spend
/// in tiyn, so that rounding to tenge happens once per row).
fn row(level: AdLevel, node: Node) -> (AdRow, Figures) {
    let child_level = match level {
        AdLevel::Campaign => AdLevel::Adset,
        _ => AdLevel::Ad,
    };
    let mut figures = node.own;
    let mut children: Vec<AdRow> = node
        .children
        .into_values()
        .map(|child| {
            let (child, child_figures) = row(child_level, child);
            figures.add(&child_figures);
            child
        })
        .collect();
    children.sort_by_key(|child| std::cmp::Reverse(child.spend));
    let name = node.name.or_else(|| node.id.clone()).unwrap_or_else(|| {
        match level {
            AdLevel::Campaign => "кампания не указана",
            AdLevel::Adset => "группа не указана",
            AdLevel::Ad => "объявление не указано",
            AdLevel::UnmatchedSpend => "Расход без кампании (ручной ввод)",
            AdLevel::UnmatchedLeads => "Лиды и продажи без объявления",
            AdLevel::Total => "Итого",
        }
        .to_owned()
    });
    (finish(level, node.id, name, figures, children), figures)
}

fn finish(level: AdLevel, id: Option<String>, name: String, figures: Figures, children: Vec<AdRow>) -> AdRow {
    let spend = tenge(figures.spend_kzt_minor);
    let results = figures.results;
    AdRow {
        level,
        id,
        name,
        spend,
        impressions: figures.impressions,
        clicks: figures.clicks,
        ctr: (figures.impressions > 0).then(|| figures.clicks as f64 * 100.0 / figures.impressions as f64),
        leads: results.leads,
        express_sales: results.express_sales,
        flagship_sales: results.flagship_sales,
        revenue: results.revenue,
        // As the funnel computes them: from tiyn, rounded once.
        // Leads that no spend is known for (unmatched ones) have no cost, rather than 0 ₸.
        cost_per_lead: cost_per(figures.spend_kzt_minor, results.leads).filter(|_| figures.spend_kzt_minor > 0),
        roi: (figures.spend_kzt_minor > 0).then(|| {
            (results.revenue as f64 * 100.0 - figures.spend_kzt_minor as f64) / figures.spend_kzt_minor as f64 * 100.0
        }),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(
        campaign: Option<(&str, &str)>,
        adset: (&str, &str),
        ad: (&str, &str),
        tenge: i64,
        shown: i64,
        clicks: i64,
    ) -> SpendLine {
        SpendLine {
            campaign_id: campaign.map(|(id, _)| id.to_owned()),
            campaign_name: campaign.map(|(_, name)| name.to_owned()),
            adset_id: Some(adset.0.to_owned()),
            adset_name: Some(adset.1.to_owned()),
            ad_id: ad.0.to_owned(),
            ad_name: Some(ad.1.to_owned()),
            spend_kzt_minor: tenge * 100,
            impressions: shown,
            clicks,
        }
    }

    fn tagged(campaign: Option<&str>, term: Option<&str>, content: Option<&str>, results: Results) -> TaggedResults {
        TaggedResults {
            utm_campaign: campaign.map(str::to_owned),
            utm_term: term.map(str::to_owned),
            utm_content: content.map(str::to_owned),
            results,
        }
    }

    fn leads(count: i64) -> Results {
        Results { leads: count, ..Results::default() }
    }

    fn find<'a>(rows: &'a [AdRow], name: &str) -> &'a AdRow {
        rows.iter().find(|row| row.name == name).unwrap_or_else(|| panic!("no row {name}"))
    }

    /// ROI and cost per lead worked out by hand for every level.
    #[test]
    fn leads_and_sales_join_ads_by_id_then_name_then_ad_set_then_campaign() {
        let tripwire = Some(("c1", "Tripwire Nov"));
        let webinar = Some(("c2", "Webinar"));
        let spend = [
            ad(tripwire, ("s1", "Женщины 25-45"), ("a1", "Видео 1"), 10_000, 20_000, 400),
            ad(tripwire, ("s1", "Женщины 25-45"), ("a2", "Карусель"), 5_000, 10_000, 100),
            // Shares its name with a1: the name identifies neither.
            ad(webinar, ("s2", "Ретаргет"), ("a3", "Видео 1"), 2_000, 4_000, 40),
            SpendLine { ad_id: "team-1".into(), spend_kzt_minor: 100_000, ..SpendLine::default() },
        ];
        let lead_groups = [
            tagged(Some("c1"), Some("s1"), Some("a1"), leads(30)),
            tagged(None, None, Some(" карусель "), leads(10)),
            tagged(None, Some("s2"), Some("Видео 1"), leads(5)),
            tagged(Some("tripwire nov"), None, None, leads(4)),
            tagged(None, None, Some("zzz"), leads(7)),
        ];
        let sale_groups = [
            tagged(None, None, Some("a1"), Results { express_sales: 2, flagship_sales: 1, revenue: 500_000, leads: 0 }),
            tagged(Some("c2"), None, None, Results { express_sales: 1, revenue: 5_000, ..Results::default() }),
            tagged(None, None, None, Results { express_sales: 1, revenue: 5_000, ..Results::default() }),
        ];
        let (rows, total) = build(&spend, &lead_groups, &sale_groups);

        let levels: Vec<AdLevel> = rows.iter().map(|row| row.level).collect();
        assert_eq!(levels, [AdLevel::Campaign, AdLevel::Campaign, AdLevel::UnmatchedSpend, AdLevel::UnmatchedLeads]);
        let c1 = &rows[0];
        assert_eq!((c1.name.as_str(), c1.id.as_deref()), ("Tripwire Nov", Some("c1")));
        assert_eq!((c1.spend, c1.impressions, c1.clicks, c1.leads), (15_000, 30_000, 500, 44));
        assert_eq!((c1.express_sales, c1.flagship_sales, c1.revenue), (2, 1, 500_000));
        assert_eq!(c1.cost_per_lead, Some(341)); // 15 000 / 44 = 340.9
        assert!((c1.roi.unwrap() - 3_233.333).abs() < 0.001); // (500 000 − 15 000) / 15 000
        assert!((c1.ctr.unwrap() - 1.6667).abs() < 0.001);
        let s1 = find(&c1.children, "Женщины 25-45");
        let a1 = find(&s1.children, "Видео 1");
        assert_eq!((a1.spend, a1.leads, a1.cost_per_lead, a1.roi), (10_000, 30, Some(333), Some(4_900.0)));
        assert_eq!(a1.ctr, Some(2.0));
        let a2 = find(&s1.children, "Карусель");
        assert_eq!((a2.leads, a2.cost_per_lead, a2.roi), (10, Some(500), Some(-100.0)));
        // The campaign name alone: under the unnamed ad set.
        assert_eq!(find(&c1.children, "группа не указана").leads, 4);

        let c2 = &rows[1];
        assert_eq!((c2.spend, c2.leads, c2.express_sales, c2.revenue, c2.roi), (2_000, 5, 1, 5_000, Some(150.0)));
        let s2 = find(&c2.children, "Ретаргет");
        assert_eq!((find(&s2.children, "Видео 1").leads, find(&s2.children, "объявление не указано").leads), (0, 5));

        assert_eq!((rows[2].spend, rows[2].leads), (1_000, 0));
        assert_eq!((rows[3].leads, rows[3].express_sales, rows[3].revenue, rows[3].spend), (7, 1, 5_000, 0));
        assert_eq!((total.spend, total.leads, total.express_sales, total.flagship_sales), (18_000, 56, 4, 1));
        assert_eq!(total.revenue, 510_000);
        assert!((total.roi.unwrap() - 2_733.333).abs() < 0.001);
    }

    #[test]
    fn an_ad_set_of_several_ads_takes_the_leads_that_name_only_it() {
        let webinar = Some(("c2", "Webinar"));
        let spend = [
            ad(webinar, ("s2", "Ретаргет"), ("a3", "Видео"), 1_000, 0, 0),
            ad(webinar, ("s2", "Ретаргет"), ("a4", "Карусель"), 1_000, 0, 0),
        ];
        let (rows, _) = build(&spend, &[tagged(None, Some("ретаргет"), None, leads(3))], &[]);
        let s2 = find(&rows[0].children, "Ретаргет");
        assert_eq!((s2.leads, find(&s2.children, "объявление не указано").leads), (3, 3));
    }
}
