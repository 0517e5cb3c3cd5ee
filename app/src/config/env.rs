//! Reading variables: unset and empty are `None`, set but invalid is an error naming the
//! variable.

use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;

/// A secret; never printed.
pub(super) fn env_secret(name: &'static str) -> Result<Option<SecretString>, ConfigError> {
    Ok(env_string(name)?.map(SecretString::from))
}

/// A base URL without its trailing slash.
pub(super) fn env_url(name: &'static str) -> Result<Option<String>, ConfigError> {
    match env_string(name)? {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Some(url.trim_end_matches('/').to_owned()))
        }
        Some(url) => Err(ConfigError { name, message: format!("expected an http(s) URL, got {url:?}") }),
        None => Ok(None),
    }
}

/// Whole seconds as a duration.
pub(super) fn env_secs(name: &'static str) -> Result<Option<Duration>, ConfigError> {
    Ok(env_parse::<u64>(name)?.map(Duration::from_secs))
}

/// The variable's value, `None` when unset or empty, an error when not Unicode.
pub(super) fn env_string(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value.trim().to_owned())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError { name, message: "not valid UTF-8".to_owned() }),
    }
}

/// A comma-separated list, each item through `item` (`a, b,,c` gives three); `None` when
/// unset, an error saying what was `expected` when an item does not parse.
pub(super) fn env_list<T>(
    name: &'static str,
    expected: &str,
    item: impl Fn(&str) -> Option<T>,
) -> Result<Option<Vec<T>>, ConfigError> {
    env_string(name)?
        .map(|text| {
            let items: Option<Vec<T>> = text.split(',').map(str::trim).filter(|it| !it.is_empty()).map(&item).collect();
            items.ok_or_else(|| ConfigError { name, message: format!("expected {expected}") })
        })
        .transpose()
}

/// The variable parsed as `T`, `None` when unset.
pub(super) fn env_parse<T: FromStr>(name: &'static str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    env_string(name)?
        .map(|value| {
            value.parse().map_err(|error| ConfigError { name, message: format!("cannot parse {value:?}: {error}") })
        })
        .transpose()
}
