//! Value modifiers: the registry of their names, the rules for chaining them, and their
//! application to a field's values, which yields the [`Test`]s both evaluators run.
//!
//! A new modifier is a variant here, one line in [`Modifier::from_name`], and its case in
//! [`plan_item`].

use ipnet::IpNet;

use super::detection::SigmaValue;
use super::encoding;
use super::placeholder::Placeholders;
use super::wildcard::Pattern;

/// Every modifier of the specification's appendix (v2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    /// `re` sub-modifier `i`: case-insensitive.
    ReInsensitive,
    /// `re` sub-modifier `m`: `^`/`$` match at line boundaries.
    ReMultiline,
    /// `re` sub-modifier `s`: `.` matches newlines.
    ReDotAll,
    Base64,
    Base64Offset,
    Utf16le,
    Utf16be,
    Utf16,
    Lt,
    Lte,
    Gt,
    Gte,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Cidr,
    Expand,
    FieldRef,
}

impl Modifier {
    /// The registry: a modifier's name in a rule (`Field|name`) to the modifier.
    pub fn from_name(name: &str) -> Option<Modifier> {
        Some(match name {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "exists" => Modifier::Exists,
            "cased" => Modifier::Cased,
            "neq" => Modifier::Neq,
            "windash" => Modifier::Windash,
            "re" => Modifier::Re,
            "i" => Modifier::ReInsensitive,
            "m" => Modifier::ReMultiline,
            "s" => Modifier::ReDotAll,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" | "wide" => Modifier::Utf16le,
            "utf16be" => Modifier::Utf16be,
            "utf16" => Modifier::Utf16,
            "lt" => Modifier::Lt,
            "lte" => Modifier::Lte,
            "gt" => Modifier::Gt,
            "gte" => Modifier::Gte,
            "minute" => Modifier::Minute,
            "hour" => Modifier::Hour,
            "day" => Modifier::Day,
            "week" => Modifier::Week,
            "month" => Modifier::Month,
            "year" => Modifier::Year,
            "cidr" => Modifier::Cidr,
            "expand" => Modifier::Expand,
            "fieldref" => Modifier::FieldRef,
            _ => return None,
        })
    }
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Comparison {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Comparison::Eq => left == right,
            Comparison::Lt => left < right,
            Comparison::Lte => left <= right,
            Comparison::Gt => left > right,
            Comparison::Gte => left >= right,
        }
    }
}

/// A part of a date the time modifiers extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// One test on a field's value (or on the whole event, for keywords).
#[derive(Debug, Clone)]
pub enum Test {
    /// The field is absent or null (`Field: null`).
    Null,
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// A wildcard pattern over the whole value; case-insensitive unless `cased`.
    Pattern { pattern: Pattern, cased: bool },
    /// A regular expression (flags already inline), searched anywhere in the value.
    Regex { regex: String },
    /// The value read as a number, compared.
    Number { comparison: Comparison, value: f64 },
    /// A part of the value read as a date, compared.
    Time {
        part: TimePart,
        comparison: Comparison,
        value: f64,
    },
    /// The value read as an IP address lies in the network.
    Cidr(IpNet),
    /// The value compared with another field of the same event: equal, or with `*` before
    /// and/or after (contains/startswith/endswith).
    FieldRef {
        field: String,
        star_before: bool,
        star_after: bool,
        cased: bool,
    },
}

/// What one `field|modifiers: values` item tests: each inner list holds the alternatives one
/// rule value expanded to (OR); the outer list is joined by OR, or by AND with `|all`; `negate`
/// (`neq`) inverts the result for a present field.
#[derive(Debug, Clone)]
pub struct ItemPlan {
    /// `None` for keywords (a search over the whole event).
    pub field: Option<String>,
    pub values: Vec<Vec<Test>>,
    pub all: bool,
    pub negate: bool,
}

/// A reason a modifier chain or value is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The chain or a value is invalid.
    Invalid(String),
    /// `expand` met a placeholder with no configured value.
    Placeholder(String),
}

impl From<String> for PlanError {
    fn from(reason: String) -> Self {
        PlanError::Invalid(reason)
    }
}

impl From<&str> for PlanError {
    fn from(reason: &str) -> Self {
        PlanError::Invalid(reason.to_string())
    }
}

enum Shape {
    Raw(String),
    Pattern(Pattern),
    Bytes(Vec<u8>),
}

impl Shape {
    fn into_pattern(self) -> Result<Pattern, PlanError> {
        match self {
            Shape::Raw(text) => Ok(Pattern::parse(&text)),
            Shape::Pattern(pattern) => Ok(pattern),
            Shape::Bytes(bytes) => String::from_utf8(bytes)
                .map(|text| Pattern::literal(&text))
                .map_err(|_| {
                    PlanError::from(
                        "a utf16 encoded value must be followed by base64 or base64offset",
                    )
                }),
        }
    }

    fn into_bytes(self, modifier: &str) -> Result<Vec<u8>, PlanError> {
        match self {
            Shape::Bytes(bytes) => Ok(bytes),
            Shape::Raw(text) => Pattern::parse(&text)
                .as_literal()
                .map(String::into_bytes)
                .ok_or_else(|| format!("`{modifier}` cannot encode a value with wildcards").into()),
            Shape::Pattern(pattern) => pattern
                .as_literal()
                .map(String::into_bytes)
                .ok_or_else(|| format!("`{modifier}` cannot encode a value with wildcards").into()),
        }
    }

    fn into_text(self, modifier: &str) -> Result<String, PlanError> {
        self.into_bytes(modifier).and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| format!("`{modifier}` needs text").into())
        })
    }
}

fn value_text(value: &SigmaValue) -> Option<String> {
    match value {
        SigmaValue::String(text) => Some(text.clone()),
        SigmaValue::Integer(number) => Some(number.to_string()),
        SigmaValue::Float(text) => Some(text.clone()),
        SigmaValue::Bool(flag) => Some(flag.to_string()),
        SigmaValue::Null => None,
    }
}

fn value_number(value: &SigmaValue) -> Option<f64> {
    match value {
        SigmaValue::Integer(number) => Some(*number as f64),
        SigmaValue::Float(text) | SigmaValue::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Applies the modifier chain to the values of one detection item.
pub fn plan_item(
    field: Option<&str>,
    modifiers: &[Modifier],
    values: &[SigmaValue],
    placeholders: &Placeholders,
) -> Result<ItemPlan, PlanError> {
    use Modifier as M;
    let has = |wanted: M| modifiers.contains(&wanted);
    if values.is_empty() {
        return Err("has no values".into());
    }
    let all = has(M::All);
    if all && values.len() < 2 {
        return Err(
            "`all` needs a list of at least two values (the specification forbids it on one value)"
                .into(),
        );
    }
    let negate = has(M::Neq);
    let cased = has(M::Cased);
    let mut plan = ItemPlan {
        field: field.map(str::to_string),
        values: Vec::with_capacity(values.len()),
        all,
        negate,
    };
    let only = |allowed: &[M]| -> Result<(), PlanError> {
        match modifiers
            .iter()
            .find(|modifier| !allowed.contains(modifier))
        {
            Some(other) => {
                Err(format!("modifier {other:?} cannot be combined with {modifiers:?}").into())
            }
            None => Ok(()),
        }
    };
    let re_flags = [M::ReInsensitive, M::ReMultiline, M::ReDotAll];
    if re_flags.iter().any(|flag| has(*flag)) && !has(M::Re) {
        return Err("the `i`, `m` and `s` modifiers only apply after `re`".into());
    }
    if values.contains(&SigmaValue::Null) {
        if values.len() > 1 {
            return Err(
                "`null` cannot be part of a list of values: put it in its own selection".into(),
            );
        }
        if !modifiers.is_empty() {
            return Err("`null` takes no modifiers".into());
        }
        plan.values.push(vec![Test::Null]);
        return Ok(plan);
    }
    if has(M::Exists) {
        only(&[M::Exists])?;
        let [SigmaValue::Bool(flag)] = values else {
            return Err("`exists` takes one boolean value".into());
        };
        plan.values.push(vec![Test::Exists(*flag)]);
        return Ok(plan);
    }
    if has(M::Re) {
        only(&[
            M::Re,
            M::ReInsensitive,
            M::ReMultiline,
            M::ReDotAll,
            M::All,
            M::Neq,
            M::Cased,
        ])?;
        let mut flags = String::new();
        for (modifier, flag) in [
            (M::ReInsensitive, 'i'),
            (M::ReMultiline, 'm'),
            (M::ReDotAll, 's'),
        ] {
            if has(modifier) {
                flags.push(flag);
            }
        }
        for value in values {
            let text = value_text(value).ok_or("`re` needs a string")?;
            let regex = if flags.is_empty() {
                text
            } else {
                format!("(?{flags}){text}")
            };
            regex::Regex::new(&regex)
                .map_err(|error| format!("invalid regular expression: {error}"))?;
            plan.values.push(vec![Test::Regex { regex }]);
        }
        return Ok(plan);
    }
    if has(M::Cidr) {
        only(&[M::Cidr, M::All, M::Neq])?;
        for value in values {
            let text = value_text(value).ok_or("`cidr` needs a network")?;
            let network: IpNet = text
                .trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a CIDR network"))?;
            plan.values.push(vec![Test::Cidr(network)]);
        }
        return Ok(plan);
    }
    if has(M::FieldRef) {
        only(&[
            M::FieldRef,
            M::Contains,
            M::StartsWith,
            M::EndsWith,
            M::Cased,
            M::Neq,
            M::All,
        ])?;
        for value in values {
            let SigmaValue::String(other) = value else {
                return Err("`fieldref` needs a field name".into());
            };
            plan.values.push(vec![Test::FieldRef {
                field: other.clone(),
                star_before: has(M::Contains) || has(M::EndsWith),
                star_after: has(M::Contains) || has(M::StartsWith),
                cased,
            }]);
        }
        return Ok(plan);
    }
    let time_part = modifiers.iter().find_map(|modifier| match modifier {
        M::Minute => Some(TimePart::Minute),
        M::Hour => Some(TimePart::Hour),
        M::Day => Some(TimePart::Day),
        M::Week => Some(TimePart::Week),
        M::Month => Some(TimePart::Month),
        M::Year => Some(TimePart::Year),
        _ => None,
    });
    let comparison = modifiers.iter().find_map(|modifier| match modifier {
        M::Lt => Some(Comparison::Lt),
        M::Lte => Some(Comparison::Lte),
        M::Gt => Some(Comparison::Gt),
        M::Gte => Some(Comparison::Gte),
        _ => None,
    });
    if time_part.is_some() || comparison.is_some() {
        only(&[
            M::Lt,
            M::Lte,
            M::Gt,
            M::Gte,
            M::Minute,
            M::Hour,
            M::Day,
            M::Week,
            M::Month,
            M::Year,
            M::All,
            M::Neq,
        ])?;
        let numeric = modifiers
            .iter()
            .filter(|modifier| !matches!(modifier, M::All | M::Neq))
            .count();
        if numeric > usize::from(time_part.is_some()) + usize::from(comparison.is_some()) {
            return Err("use one comparison and at most one time part".into());
        }
        for value in values {
            let number = value_number(value).ok_or("numeric modifiers need a number")?;
            let comparison = comparison.unwrap_or(Comparison::Eq);
            plan.values.push(vec![match time_part {
                Some(part) => Test::Time {
                    part,
                    comparison,
                    value: number,
                },
                None => Test::Number {
                    comparison,
                    value: number,
                },
            }]);
        }
        return Ok(plan);
    }
    for value in values {
        let raw = value_text(value).ok_or("a value is missing")?;
        let mut shapes = if has(M::Expand) {
            placeholders
                .expand(&raw)?
                .into_iter()
                .map(Shape::Raw)
                .collect()
        } else {
            vec![Shape::Raw(raw)]
        };
        for modifier in modifiers {
            let mut next = Vec::with_capacity(shapes.len());
            for shape in shapes {
                match modifier {
                    M::Contains => {
                        let mut pattern = shape.into_pattern()?;
                        pattern.star_before();
                        pattern.star_after();
                        next.push(Shape::Pattern(pattern));
                    }
                    M::StartsWith => {
                        let mut pattern = shape.into_pattern()?;
                        pattern.star_after();
                        next.push(Shape::Pattern(pattern));
                    }
                    M::EndsWith => {
                        let mut pattern = shape.into_pattern()?;
                        pattern.star_before();
                        next.push(Shape::Pattern(pattern));
                    }
                    M::Windash => next.push(Shape::Pattern(shape.into_pattern()?.windash())),
                    M::Base64 => {
                        let bytes = shape.into_bytes("base64")?;
                        next.push(Shape::Pattern(Pattern::literal(&encoding::base64(&bytes))));
                    }
                    M::Base64Offset => {
                        let bytes = shape.into_bytes("base64offset")?;
                        for variant in encoding::base64_offsets(&bytes) {
                            next.push(Shape::Pattern(Pattern::literal(&variant)));
                        }
                    }
                    M::Utf16le => next.push(Shape::Bytes(encoding::utf16le(
                        &shape.into_text("utf16le")?,
                    ))),
                    M::Utf16be => next.push(Shape::Bytes(encoding::utf16be(
                        &shape.into_text("utf16be")?,
                    ))),
                    M::Utf16 => {
                        next.push(Shape::Bytes(encoding::utf16(&shape.into_text("utf16")?)))
                    }
                    M::All | M::Cased | M::Neq | M::Expand => next.push(shape),
                    other => {
                        return Err(format!(
                            "modifier {other:?} cannot be combined with {modifiers:?}"
                        )
                        .into());
                    }
                }
            }
            shapes = next;
        }
        let mut alternatives = Vec::with_capacity(shapes.len());
        for shape in shapes {
            let mut pattern = shape.into_pattern()?;
            if field.is_none() && !(has(M::Contains) || has(M::StartsWith) || has(M::EndsWith)) {
                // Keywords search the event's text: a keyword matches anywhere in a value.
                pattern.star_before();
                pattern.star_after();
            }
            alternatives.push(Test::Pattern { pattern, cased });
        }
        plan.values.push(alternatives);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(modifiers: &[&str], values: &[SigmaValue]) -> Result<ItemPlan, PlanError> {
        let modifiers: Vec<Modifier> = modifiers
            .iter()
            .map(|name| Modifier::from_name(name).expect("known modifier"))
            .collect();
        plan_item(Some("Field"), &modifiers, values, &Placeholders::default())
    }

    fn text(value: &str) -> SigmaValue {
        SigmaValue::String(value.to_string())
    }

    fn patterns(plan: &ItemPlan) -> Vec<Vec<String>> {
        plan.values
            .iter()
            .map(|alternatives| {
                alternatives
                    .iter()
                    .map(|test| match test {
                        Test::Pattern { pattern, .. } => pattern.to_regex(false),
                        other => format!("{other:?}"),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_appendix_modifier_is_registered() {
        for name in [
            "contains",
            "startswith",
            "endswith",
            "all",
            "exists",
            "cased",
            "neq",
            "windash",
            "re",
            "i",
            "m",
            "s",
            "base64",
            "base64offset",
            "utf16le",
            "utf16be",
            "utf16",
            "wide",
            "lt",
            "lte",
            "gt",
            "gte",
            "minute",
            "hour",
            "day",
            "week",
            "month",
            "year",
            "cidr",
            "expand",
            "fieldref",
        ] {
            assert!(Modifier::from_name(name).is_some(), "{name}");
        }
        assert!(Modifier::from_name("contain").is_none());
    }

    #[test]
    fn chains_apply_in_order() {
        // base64offset then contains: the encodings, each searched anywhere.
        let item = plan(&["base64offset", "contains"], &[text("http://")]).expect("valid");
        assert_eq!(
            patterns(&item),
            [[
                "(?s)^.*aHR0cDovL.*$",
                "(?s)^.*h0dHA6Ly.*$",
                "(?s)^.*odHRwOi8v.*$"
            ]]
        );
        // utf16le then base64.
        let item = plan(&["wide", "base64"], &[text("cmd")]).expect("valid");
        assert_eq!(patterns(&item), [["(?s)^YwBtAGQA$"]]);
        // contains then base64 would encode a wildcard: refused.
        assert!(plan(&["contains", "base64"], &[text("cmd")]).is_err());
    }

    #[test]
    fn refuses_invalid_chains() {
        assert!(plan(&["i"], &[text("a")]).is_err(), "i without re");
        assert!(plan(&["re", "contains"], &[text("a")]).is_err());
        assert!(plan(&["all"], &[text("a")]).is_err(), "all on one value");
        assert!(plan(&["exists"], &[text("yes")]).is_err());
        assert!(plan(&["gt"], &[text("abc")]).is_err());
        assert!(plan(&["cidr"], &[text("10.0.0.0/33")]).is_err());
        assert!(plan(&["re"], &[text("(unclosed")]).is_err());
        assert!(
            plan(&[], &[text("a"), SigmaValue::Null]).is_err(),
            "null in a list"
        );
        assert!(
            plan(&["utf16le"], &[text("a")]).is_ok(),
            "utf16le of ascii is text"
        );
        assert!(plan(&["utf16"], &[text("a")]).is_err(), "a BOM is not text");
    }

    #[test]
    fn re_flags_are_inlined() {
        let item = plan(&["re", "i", "m", "s"], &[text("^a.b$")]).expect("valid");
        assert!(matches!(&item.values[0][0], Test::Regex { regex } if regex == "(?ims)^a.b$"));
    }

    #[test]
    fn numbers_and_time_parts() {
        let item = plan(&["hour", "gte"], &[SigmaValue::Integer(18)]).expect("valid");
        assert!(matches!(
            item.values[0][0],
            Test::Time { part: TimePart::Hour, comparison: Comparison::Gte, value } if value == 18.0
        ));
        let item = plan(&["lt"], &[SigmaValue::Float("1.5".into())]).expect("valid");
        assert!(matches!(
            item.values[0][0],
            Test::Number {
                comparison: Comparison::Lt,
                ..
            }
        ));
    }
}
