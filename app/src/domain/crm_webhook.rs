//! AmoCRM's webhook bodies (`docs/providers.md`, AmoCRM webhooks): form-encoded PHP-style bracket keys,
//! `leads[status][0][status_id]=142`, every value a string, lists as numeric-keyed maps,
//! brackets percent-encoded or not. Parsed into the deal changes we act on; keys we do not
//! know are ignored.

use std::collections::BTreeMap;

/// The most segments a key may have. AmoCRM's deepest is
/// `leads[status][0][custom_fields][0][values][0][value]` (eight); deeper keys are not
/// AmoCRM's and are refused before any tree is built.
const MAX_KEY_DEPTH: usize = 10;

/// A nested form value: a string or a map of keys (numeric keys stay strings here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormValue {
    Text(String),
    Map(BTreeMap<String, FormValue>),
}

impl FormValue {
    fn get(&self, key: &str) -> Option<&FormValue> {
        match self {
            Self::Map(map) => map.get(key),
            Self::Text(_) => None,
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Self::Text(text)) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The entries of a numeric-keyed map in numeric order.
    fn items(&self) -> Vec<&FormValue> {
        let Self::Map(map) = self else { return Vec::new() };
        let mut items: Vec<(u64, &FormValue)> =
            map.iter().filter_map(|(key, value)| key.parse::<u64>().ok().map(|n| (n, value))).collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, value)| value).collect()
    }
}

/// What happened to a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealAction {
    /// `leads[status]`: moved to another stage.
    Status,
    /// `leads[add]`.
    Add,
    /// `leads[update]`.
    Update,
}

/// One deal in a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealChange {
    pub action: DealAction,
    pub deal_id: i64,
    pub name: Option<String>,
    pub status_id: Option<i64>,
    pub old_status_id: Option<i64>,
    pub pipeline_id: Option<i64>,
    /// Whole tenge; 0 or absent when the deal has no price.
    pub price: Option<i64>,
    /// Unix seconds of the change (`updated_at`, else `last_modified`).
    pub changed_at: Option<i64>,
    /// Custom field id → its first value.
    pub custom_fields: BTreeMap<i64, String>,
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("тело не в формате application/x-www-form-urlencoded: {0}")]
    NotAForm(String),
    #[error("сделка без числового id: {0}")]
    MissingId(String),
    #[error("ключ вложен глубже {MAX_KEY_DEPTH} уровней: так AmoCRM не пишет")]
    TooDeep,
}

/// Parses a delivery into its deal changes (several entities and indexes may come at once).
pub fn parse_deal_changes(body: &[u8]) -> Result<Vec<DealChange>, WebhookError> {
    let root = parse_form(body)?;
    let mut changes = Vec::new();
    let Some(leads) = root.get("leads") else { return Ok(changes) };
    for (key, action) in [("status", DealAction::Status), ("add", DealAction::Add), ("update", DealAction::Update)] {
        let Some(list) = leads.get(key) else { continue };
        for deal in list.items() {
            changes.push(deal_change(action, deal)?);
        }
    }
    Ok(changes)
}

fn deal_change(action: DealAction, deal: &FormValue) -> Result<DealChange, WebhookError> {
    let number = |key: &str| deal.text(key).and_then(|text| text.trim().parse::<i64>().ok());
    let deal_id = number("id").ok_or_else(|| WebhookError::MissingId(deal.text("id").unwrap_or("").to_owned()))?;
    let mut custom_fields = BTreeMap::new();
    if let Some(fields) = deal.get("custom_fields") {
        for field in fields.items() {
            let Some(id) = field.text("id").and_then(|id| id.parse::<i64>().ok()) else { continue };
            let first = field.get("values").and_then(|values| values.items().into_iter().next());
            // A value is either `values[0][value]=…` or, for some field types, `values[0]=…`.
            let value = match first {
                Some(FormValue::Text(text)) => Some(text.clone()),
                Some(value @ FormValue::Map(_)) => value.text("value").map(str::to_owned),
                None => None,
            };
            if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
                custom_fields.insert(id, value);
            }
        }
    }
    Ok(DealChange {
        action,
        deal_id,
        name: deal.text("name").map(str::to_owned),
        status_id: number("status_id"),
        old_status_id: number("old_status_id"),
        pipeline_id: number("pipeline_id"),
        price: deal.text("price").and_then(|text| text.trim().parse::<f64>().ok()).map(|price| price.round() as i64),
        changed_at: number("updated_at").or_else(|| number("last_modified")),
        custom_fields,
    })
}

/// The whole body as a tree of bracket keys.
fn parse_form(body: &[u8]) -> Result<FormValue, WebhookError> {
    let text = std::str::from_utf8(body).map_err(|_| WebhookError::NotAForm("не UTF-8".into()))?;
    if text.trim().is_empty() {
        return Err(WebhookError::NotAForm("пустое тело".into()));
    }
    let mut root = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(text.as_bytes()) {
        let path = key_path(&key)?;
        insert(&mut root, &path, value.into_owned())?;
    }
    Ok(FormValue::Map(root))
}

/// `leads[status][0][id]` → `["leads", "status", "0", "id"]`; a loop, never deeper than
/// [`MAX_KEY_DEPTH`] segments.
fn key_path(key: &str) -> Result<Vec<String>, WebhookError> {
    let malformed = || WebhookError::NotAForm(format!("ключ {:?}", key.chars().take(80).collect::<String>()));
    let (head, mut rest) = match key.find('[') {
        Some(at) => (&key[..at], &key[at..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(malformed());
    }
    let mut path = vec![head.to_owned()];
    while !rest.is_empty() {
        if path.len() == MAX_KEY_DEPTH {
            return Err(WebhookError::TooDeep);
        }
        let inner = rest.strip_prefix('[').ok_or_else(malformed)?;
        let end = inner.find(']').ok_or_else(malformed)?;
        path.push(inner[..end].to_owned());
        rest = &inner[end + 1..];
    }
    Ok(path)
}

/// Puts `value` at `path`, walking down with a loop (the depth is bounded by [`key_path`]).
fn insert(root: &mut BTreeMap<String, FormValue>, path: &[String], value: String) -> Result<(), WebhookError> {
    let (last, parents) = path.split_last().expect("paths are never empty");
    let mut map = root;
    for key in parents {
        map = match map.entry(key.clone()).or_insert_with(|| FormValue::Map(BTreeMap::new())) {
            FormValue::Map(inner) => inner,
            FormValue::Text(_) => return Err(WebhookError::NotAForm(format!("ключ {key:?} и значение, и список"))),
        };
    }
    map.insert(last.clone(), FormValue::Text(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_SAMPLE: &str = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=25399013&leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%97%D0%B0%D1%8F%D0%B2%D0%BA%D0%B0+%D1%81+%D1%81%D0%B0%D0%B9%D1%82%D0%B0&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=7039101&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=150000&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=6254262&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=66339&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=%D0%A1%D0%B0%D0%B9%D1%82&leads%5Bstatus%5D%5B0%5D%5Bupdated_at%5D=1717488000&account%5Bsubdomain%5D=example&account%5Bid%5D=30739638";

    #[test]
    fn a_status_change_is_read_from_the_encoded_sample() {
        let changes = parse_deal_changes(STATUS_SAMPLE.as_bytes()).unwrap();
        assert_eq!(changes.len(), 1);
        let change = &changes[0];
        assert_eq!((change.action, change.deal_id, change.status_id), (DealAction::Status, 25_399_013, Some(142)));
        assert_eq!(
            (change.old_status_id, change.pipeline_id, change.price),
            (Some(7_039_101), Some(6_254_262), Some(150_000))
        );
        assert_eq!(change.name.as_deref(), Some("Заявка с сайта"));
        assert_eq!(change.custom_fields.get(&66_339).map(String::as_str), Some("Сайт"));
        assert_eq!(change.changed_at, Some(1_717_488_000));
    }

    #[test]
    fn raw_brackets_scalar_values_and_several_deals_are_read() {
        let body = "leads[update][1][id]=2&leads[update][0][id]=1&leads[update][0][custom_fields][0][id]=72333\
                    &leads[update][0][custom_fields][0][values][0]=1542067200&leads[add][0][id]=3&unknown=1";
        let changes = parse_deal_changes(body.as_bytes()).unwrap();
        let ids: Vec<(DealAction, i64)> = changes.iter().map(|change| (change.action, change.deal_id)).collect();
        assert_eq!(ids, [(DealAction::Add, 3), (DealAction::Update, 1), (DealAction::Update, 2)]);
        assert_eq!(changes[1].custom_fields.get(&72_333).map(String::as_str), Some("1542067200"));
    }

    #[test]
    fn malformed_bodies_say_why() {
        assert!(matches!(parse_deal_changes(b""), Err(WebhookError::NotAForm(_))));
        assert!(matches!(parse_deal_changes(b"[oops]=1"), Err(WebhookError::NotAForm(_))));
        assert!(matches!(parse_deal_changes(b"leads[status][0][id]=abc"), Err(WebhookError::MissingId(_))));
        assert!(matches!(parse_deal_changes(b"leads=1&leads[status][0][id]=1"), Err(WebhookError::NotAForm(_))));
        assert_eq!(parse_deal_changes(b"account[id]=1").unwrap(), Vec::new());
        let deep = format!("leads{}=1", "[x]".repeat(20_000));
        assert_eq!(parse_deal_changes(deep.as_bytes()), Err(WebhookError::TooDeep));
        let deepest = "leads[status][0][custom_fields][0][values][0][value][x][y]=1&leads[status][0][id]=5";
        assert_eq!(parse_deal_changes(deepest.as_bytes()).unwrap().len(), 1, "ten segments are read");
    }
}
