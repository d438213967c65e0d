//! Typed configuration from environment variables.
//!
//! Functions read their settings once at start-up through [`Env`]. In Lambda the
//! variables come from `infra/template.yaml`; in tests and `cargo dev` devstack
//! hands the same variables over as a map, so no test mutates the process
//! environment. A missing or malformed variable stops start-up with a
//! [`ConfigError`] that names it (and never prints its value).

use std::collections::BTreeMap;
use std::str::FromStr;

/// Where configuration values come from.
#[derive(Debug, Clone)]
pub enum Env {
    /// The process environment (Lambda, `cargo lambda watch`).
    Process,
    /// An explicit map (tests and devstack).
    Map(BTreeMap<String, String>),
}

/// A missing or malformed configuration variable.
#[derive(Debug, thiserror::Error)]
#[error("environment variable `{name}` {problem}")]
pub struct ConfigError {
    /// The variable's name.
    pub name: String,
    /// What is wrong with it (never its value: it may be a secret).
    pub problem: String,
}

impl ConfigError {
    /// A problem with the variable `name`.
    pub fn new(name: &str, problem: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            problem: problem.into(),
        }
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env::Process
    }

    /// An explicit set of variables.
    pub fn from_map(map: BTreeMap<String, String>) -> Self {
        Env::Map(map)
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match self {
            Env::Process => std::env::var(name).ok(),
            Env::Map(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, or an error naming it.
    pub fn require(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::new(name, "is missing or empty"))
    }

    /// The value of `name` parsed as `T`, or an error naming it.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<T, ConfigError> {
        self.require(name)?.parse().map_err(|_| {
            ConfigError::new(name, format!("is not a valid {}", short_type_name::<T>()))
        })
    }

    /// The value of `name` parsed as `T`, or `default` when unset.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(_) => self.parse(name),
        }
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn missing_variable_is_named_in_the_error() {
        let err = env(&[]).require("LOGIN_TABLE").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable `LOGIN_TABLE` is missing or empty"
        );
    }

    #[test]
    fn empty_variable_counts_as_missing() {
        assert!(env(&[("X", "  ")]).require("X").is_err());
    }

    #[test]
    fn malformed_variable_names_it_without_its_value() {
        let err = env(&[("TTL", "secret-ish")])
            .parse::<u32>("TTL")
            .unwrap_err();
        assert!(err.to_string().contains("`TTL`"));
        assert!(!err.to_string().contains("secret-ish"));
    }

    #[test]
    fn parse_or_uses_default_only_when_unset() {
        assert_eq!(env(&[]).parse_or("N", 7u32).unwrap(), 7);
        assert_eq!(env(&[("N", "9")]).parse_or("N", 7u32).unwrap(), 9);
        assert!(env(&[("N", "x")]).parse_or("N", 7u32).is_err());
    }
}
