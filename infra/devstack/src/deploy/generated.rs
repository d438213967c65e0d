//! `GenerateSecretString`: the random value CloudFormation gives a secret that
//! is created without a `SecretString`, made the way Secrets Manager's
//! `GetRandomPassword` makes one: `PasswordLength` characters (32 by default)
//! drawn from upper- and lowercase letters, digits and punctuation (and a space
//! with `IncludeSpace`), less what `Exclude*` takes out, with at least one
//! character of every type still included unless `RequireEachIncludedType` is
//! false. With `SecretStringTemplate` and `GenerateStringKey`, the value is the
//! template's JSON object with the password added under that key.

use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use serde_json::Value;

use super::Scalar;

const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";
/// What Secrets Manager counts as punctuation: every printable ASCII character
/// that is not a letter, a digit or the space.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
/// `PasswordLength` when the template leaves it out.
const DEFAULT_LENGTH: i64 = 32;
/// The longest password Secrets Manager generates.
const MAX_LENGTH: i64 = 4096;

/// The `GenerateSecretString` property of an `AWS::SecretsManager::Secret`.
/// Unknown fields are refused rather than ignored, so that a value is never
/// made differently from the cloud's without a word.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct GenerateSecretString {
    password_length: Option<Scalar>,
    exclude_characters: Option<String>,
    exclude_punctuation: Option<Scalar>,
    exclude_uppercase: Option<Scalar>,
    exclude_lowercase: Option<Scalar>,
    exclude_numbers: Option<Scalar>,
    include_space: Option<Scalar>,
    require_each_included_type: Option<Scalar>,
    secret_string_template: Option<Value>,
    generate_string_key: Option<String>,
}

impl GenerateSecretString {
    /// A fresh value from the operating system's CSPRNG, or why these
    /// properties make none (for a template error).
    pub(super) fn generate(&self) -> Result<String, String> {
        self.generate_with(&mut OsRng)
    }

    fn generate_with(&self, rng: &mut impl RngCore) -> Result<String, String> {
        let password = self.password(rng)?;
        match (&self.secret_string_template, &self.generate_string_key) {
            (None, None) => Ok(password),
            (Some(template), Some(key)) => {
                let parsed;
                let template = match template {
                    Value::String(text) => {
                        parsed = serde_json::from_str::<Value>(text).map_err(|e| {
                            format!("GenerateSecretString.SecretStringTemplate is not JSON: {e}")
                        })?;
                        &parsed
                    }
                    other => other,
                };
                let Value::Object(object) = template else {
                    return Err(
                        "GenerateSecretString.SecretStringTemplate is not a JSON object".into(),
                    );
                };
                let mut object = object.clone();
                object.insert(key.clone(), Value::String(password));
                Ok(Value::Object(object).to_string())
            }
            _ => Err("GenerateSecretString needs both SecretStringTemplate and \
                 GenerateStringKey, or neither"
                .into()),
        }
    }

    fn password(&self, rng: &mut impl RngCore) -> Result<String, String> {
        let flag =
            |value: &Option<Scalar>, default: bool| value.as_ref().map_or(default, Scalar::truthy);
        let length = match &self.password_length {
            None => DEFAULT_LENGTH,
            Some(length) => length.integer().unwrap_or(0),
        };
        let length = usize::try_from(length)
            .ok()
            .filter(|_| (1..=MAX_LENGTH).contains(&length))
            .ok_or_else(|| {
                format!(
                    "GenerateSecretString.PasswordLength is not a whole number from 1 to \
                     {MAX_LENGTH}"
                )
            })?;
        let excluded = self.exclude_characters.as_deref().unwrap_or_default();
        let kept = |set: &str, exclude: bool| -> Vec<char> {
            if exclude {
                return Vec::new();
            }
            set.chars().filter(|c| !excluded.contains(*c)).collect()
        };
        let types: Vec<Vec<char>> = [
            kept(UPPERCASE, flag(&self.exclude_uppercase, false)),
            kept(LOWERCASE, flag(&self.exclude_lowercase, false)),
            kept(DIGITS, flag(&self.exclude_numbers, false)),
            kept(PUNCTUATION, flag(&self.exclude_punctuation, false)),
        ]
        .into_iter()
        .filter(|set| !set.is_empty())
        .collect();
        let mut alphabet: Vec<char> = types.concat();
        alphabet.extend(kept(" ", !flag(&self.include_space, false)));
        if alphabet.is_empty() {
            return Err("GenerateSecretString excludes every character".into());
        }

        // One of each required type first, the rest from the whole alphabet,
        // then shuffled so the required ones sit anywhere.
        let required: &[Vec<char>] = if flag(&self.require_each_included_type, true) {
            &types
        } else {
            &[]
        };
        if required.len() > length {
            return Err(format!(
                "GenerateSecretString.PasswordLength {length} is shorter than the {} \
                 character types RequireEachIncludedType asks for",
                required.len()
            ));
        }
        let mut password: Vec<char> = required.iter().map(|set| pick(rng, set)).collect();
        while password.len() < length {
            password.push(pick(rng, &alphabet));
        }
        for i in (1..password.len()).rev() {
            password.swap(i, below(rng, i + 1));
        }
        Ok(password.into_iter().collect())
    }
}

/// A character of the non-empty `set`, each equally likely.
fn pick(rng: &mut impl RngCore, set: &[char]) -> char {
    set[below(rng, set.len())]
}

/// A number below `n` (1 to 4096 here), each equally likely: draws past the
/// largest multiple of `n` are redrawn, as a plain remainder would favour the
/// smaller numbers.
fn below(rng: &mut impl RngCore, n: usize) -> usize {
    let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    let zone = u32::MAX - u32::MAX % n;
    loop {
        let draw = rng.next_u32();
        if draw < zone {
            return (draw % n) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_yaml(yaml: &str) -> GenerateSecretString {
        serde_norway::from_str(yaml).expect("GenerateSecretString")
    }

    fn has(password: &str, set: &str) -> bool {
        password.chars().any(|c| set.contains(c))
    }

    #[test]
    fn the_alert_sms_cursor_secret_gets_64_fresh_letters_and_digits() {
        // GIVEN the template's GenerateSecretString of AlertSmsCursorSecret
        let spec = from_yaml("{PasswordLength: 64, ExcludePunctuation: true}");

        // WHEN two values are generated
        let (a, b) = (
            spec.generate().expect("a value"),
            spec.generate().expect("a value"),
        );

        // THEN each is 64 letters and digits, with every type, and they differ
        for value in [&a, &b] {
            assert_eq!(value.chars().count(), 64, "{value}");
            assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
            assert!(has(value, UPPERCASE) && has(value, LOWERCASE) && has(value, DIGITS));
        }
        assert_ne!(a, b);
    }

    #[test]
    fn without_properties_a_value_is_32_characters_of_every_type() {
        // GIVEN `GenerateSecretString: {}`, and the shortest length that can hold
        // one character of each of the four types
        let default = from_yaml("{}");
        let shortest = from_yaml("{PasswordLength: 4}");

        // WHEN values are generated, THEN the default is 32 printable characters
        // without a space, and every value has each type (RequireEachIncludedType)
        let value = default.generate().expect("a value");
        assert_eq!(value.len(), 32);
        assert!(value.chars().all(|c| c.is_ascii_graphic()), "{value}");
        for _ in 0..200 {
            let value = shortest.generate().expect("a value");
            assert_eq!(value.len(), 4);
            for set in [UPPERCASE, LOWERCASE, DIGITS, PUNCTUATION] {
                assert!(has(&value, set), "{value} lacks one of {set}");
            }
        }
    }

    #[test]
    fn excluded_characters_never_appear_and_a_space_only_when_included() {
        // GIVEN exclusions by type and by character, and IncludeSpace
        let spec = from_yaml(
            "{PasswordLength: 200, ExcludeLowercase: true, ExcludeNumbers: 'true', \
             ExcludeCharacters: \"ABC!\\\"'\", IncludeSpace: true}",
        );

        // WHEN a value is generated
        let value = spec.generate().expect("a value");

        // THEN it has neither lowercase, digits nor the listed characters
        assert_eq!(value.len(), 200);
        for c in value.chars() {
            assert!(!c.is_ascii_lowercase() && !c.is_ascii_digit(), "{value}");
            assert!(!"ABC!\"'".contains(c), "{value}");
        }
        assert!(has(&value, UPPERCASE) && has(&value, PUNCTUATION));
        // AND without IncludeSpace there is none
        let plain = from_yaml("{PasswordLength: 400}")
            .generate()
            .expect("a value");
        assert!(!plain.contains(' '), "{plain}");
    }

    #[test]
    fn with_a_secret_string_template_the_password_goes_under_its_key() {
        let spec = from_yaml(
            "{SecretStringTemplate: '{\"username\":\"app\"}', GenerateStringKey: password, \
             ExcludePunctuation: true}",
        );
        let value: Value = serde_json::from_str(&spec.generate().expect("a value")).expect("JSON");
        assert_eq!(value["username"], "app");
        assert_eq!(value["password"].as_str().map(str::len), Some(32));
    }

    #[test]
    fn properties_that_make_no_value_are_refused_saying_why() {
        for (yaml, named) in [
            ("{PasswordLength: 0}", "PasswordLength"),
            ("{PasswordLength: 4097}", "PasswordLength"),
            ("{PasswordLength: many}", "PasswordLength"),
            ("{PasswordLength: 3}", "RequireEachIncludedType"),
            (
                "{ExcludeUppercase: true, ExcludeLowercase: true, ExcludeNumbers: true, \
                 ExcludePunctuation: true}",
                "excludes every character",
            ),
            ("{GenerateStringKey: password}", "SecretStringTemplate"),
            (
                "{SecretStringTemplate: '[1]', GenerateStringKey: k}",
                "not a JSON object",
            ),
        ] {
            let err = from_yaml(yaml).generate().expect_err(yaml);
            assert!(err.contains(named), "{yaml}: {err}");
        }
        // AND a length of 3 makes a value once each type is not required
        let lax = from_yaml("{PasswordLength: 3, RequireEachIncludedType: false}");
        assert_eq!(lax.generate().expect("a value").len(), 3);
    }

    #[test]
    fn unknown_properties_are_refused_rather_than_ignored() {
        let err = serde_norway::from_str::<GenerateSecretString>("{PasswordLenght: 64}")
            .expect_err("a typo");
        assert!(err.to_string().contains("PasswordLenght"), "{err}");
    }

    #[test]
    fn below_stays_below_and_reaches_every_number() {
        let mut seen = [false; 7];
        for _ in 0..1000 {
            seen[below(&mut OsRng, 7)] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(below(&mut OsRng, 1), 0);
    }
}
