//! The bounds of every number a user can set (signal parameters, fusion settings, rules,
//! evaluation settings, command-line options) and the error that names a number outside
//! them. Each layer checks its own settings with these helpers where they enter (a session
//! file, a command-line option, a rules file), so nothing downstream allocates or loops
//! without bound, or turns a huge weight into infinite scores. TESTING.md lists the ranges.

/// A number outside its allowed range (or not a finite number).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name} = {value} is outside the allowed range {min} to {max}")]
pub struct OutOfRange {
    /// The parameter, as the user writes it (`als.factors`, `--bootstrap`).
    pub name: String,
    /// The value given.
    pub value: String,
    /// Smallest allowed value.
    pub min: String,
    /// Largest allowed value.
    pub max: String,
}

/// A number as people read it: `1e300`, not three hundred digits.
fn readable(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-4..1e7).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Checks an integer setting: `min <= value <= max`.
pub fn check_count(name: &str, value: usize, min: usize, max: usize) -> Result<(), OutOfRange> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(OutOfRange { name: name.to_owned(), value: value.to_string(), min: min.to_string(), max: max.to_string() })
    }
}

/// Checks a real-valued setting: finite and `min <= value <= max`.
pub fn check_real(name: &str, value: f64, min: f64, max: f64) -> Result<(), OutOfRange> {
    if value.is_finite() && value >= min && value <= max {
        Ok(())
    } else {
        Err(OutOfRange { name: name.to_owned(), value: readable(value), min: readable(min), max: readable(max) })
    }
}

/// Checks an optional real-valued setting (absent is allowed).
pub fn check_optional_real(name: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), OutOfRange> {
    value.map_or(Ok(()), |v| check_real(name, v, min, max))
}

/// Largest absolute value of a fusion weight or a rule's additive adjustment: far above
/// anything useful (scores are normalised to about 0–1), far below where sums overflow.
pub const MAX_WEIGHT: f64 = 1e6;

/// Largest bootstrap resample count (a run at this count takes minutes, not days).
pub const MAX_BOOTSTRAP: usize = 100_000;

/// Largest list length or cut-off K.
pub const MAX_K: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_messages_name_everything() {
        assert!(check_count("als.factors", 1, 1, 1024).is_ok());
        assert!(check_count("als.factors", 1024, 1, 1024).is_ok());
        let e = check_count("als.factors", 1_000_000_000, 1, 1024).unwrap_err();
        assert_eq!(e.to_string(), "als.factors = 1000000000 is outside the allowed range 1 to 1024");
        assert!(check_real("w", f64::NAN, -1.0, 1.0).is_err());
        assert!(check_real("w", f64::INFINITY, -1.0, 1.0).is_err());
        assert!(check_real("w", 1e300, -1e6, 1e6).is_err());
        assert!(check_real("w", -1.0, -1.0, 1.0).is_ok());
        assert!(check_optional_real("h", None, 0.0, 1.0).is_ok());
        assert!(check_optional_real("h", Some(2.0), 0.0, 1.0).is_err());
    }
}
