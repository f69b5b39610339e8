//! Validation of mutation inputs: texts, patches, and the error naming the field.
//!
//! Every free text a mutation stores goes through [`text`], [`opt_text`] or [`opt_long_text`]
//! (codes, phone and ID numbers have stricter formats of their own). A text is checked
//! character by character *as sent*, then NFC-normalised (so that one spelling of a name is
//! stored for what looks like one name, and lengths mean the same for every client), stripped
//! of surrounding white space and counted. Refused everywhere:
//!
//! - control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F), NUL included,
//!   except line feed and tab in long texts (a CR LF pair is stored as a line feed there);
//! - the bidirectional embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069,
//!   which reorder how text around them is displayed ("Trojan Source" spoofing of names, codes
//!   and audit entries);
//! - the line and paragraph separators U+2028 and U+2029 (line breaks other than `\n`).
//!
//! Short texts (names, titles, references, addresses, locations, contacts) also refuse
//! the invisible direction marks U+200E, U+200F and U+061C: they make two names that look
//! alike differ. Long texts (descriptions, reasons) keep them, because mixed right-to-left and
//! left-to-right prose (Uyghur with Chinese or numbers) needs them to display correctly, and a
//! mark cannot reorder text beyond itself.

use crate::error::{ApiError, ApiResult};
use async_graphql::MaybeUndefined;
use unicode_normalization::UnicodeNormalization;

/// What a text input may hold besides printable characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One line: no control characters, no direction marks.
    Short,
    /// Prose: line feeds, tabs and direction marks allowed.
    Long,
}

/// Why `c` may not appear in a text of `kind`, if it may not.
fn refused(c: char, kind: Kind) -> Option<&'static str> {
    match c {
        '\n' | '\t' if kind == Kind::Long => None,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("bidirectional formatting characters")
        }
        '\u{200E}' | '\u{200F}' | '\u{061C}' if kind == Kind::Short => Some("direction marks"),
        '\u{2028}' | '\u{2029}' => Some("line or paragraph separators"),
        c if c.is_control() => Some(match kind {
            Kind::Short => "control characters (line breaks and tabs included)",
            Kind::Long => "control characters other than line feed and tab",
        }),
        _ => None,
    }
}

/// Checks, normalises and trims a text; `None` when nothing but white space is left.
///
/// The error names the field, the refused code point and its position, never the text.
fn clean(field: &str, value: &str, max: usize, kind: Kind) -> ApiResult<Option<String>> {
    let mut chars = value.chars().peekable();
    let mut at = 0;
    while let Some(c) = chars.next() {
        at += 1;
        if c == '\r' && kind == Kind::Long && chars.peek() == Some(&'\n') {
            continue;
        }
        if let Some(why) = refused(c, kind) {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "`{field}` must not contain {why} (U+{:04X} at character {at})",
                    u32::from(c)
                ),
            ));
        }
    }
    let normalized: String = if kind == Kind::Long && value.contains('\r') {
        value.replace("\r\n", "\n").nfc().collect()
    } else {
        value.nfc().collect()
    };
    let v = normalized.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    Ok(Some(v.to_owned()))
}

/// Refuses, anywhere in a JSON input (keys and string values, e.g. the properties a GeoJSON
/// boundary may carry), the characters a short text refuses.
pub fn json_strings(field: &str, value: &serde_json::Value) -> ApiResult<()> {
    let check = |s: &str| match s
        .chars()
        .find_map(|c| refused(c, Kind::Short).map(|w| (c, w)))
    {
        Some((c, why)) => Err(ApiError::bad_input(
            field,
            format!("`{field}` must not contain {why} (U+{:04X})", u32::from(c)),
        )),
        None => Ok(()),
    };
    match value {
        serde_json::Value::String(s) => check(s),
        serde_json::Value::Array(items) => items.iter().try_for_each(|v| json_strings(field, v)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check(k)?;
            json_strings(field, v)
        }),
        _ => Ok(()),
    }
}

/// A required short text (a name, title or reference): one line, NFC, trimmed,
/// non-empty, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    clean(field, value, max, Kind::Short)?
        .ok_or_else(|| ApiError::bad_input(field, format!("`{field}` must not be empty")))
}

/// An optional short text; empty (or only white space) means absent.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    value.map_or(Ok(None), |v| clean(field, v, max, Kind::Short))
}

/// An optional long text; empty (or only white space) means absent.
pub fn opt_long_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    value.map_or(Ok(None), |v| clean(field, v, max, Kind::Long))
}

/// A change to an optional value: `None` leaves it, `Some(None)` clears it, `Some(Some(v))` sets it.
pub type Patch<T> = Option<Option<T>>;

/// Turns a GraphQL field that may be absent, null or a value into a [`Patch`], validating the value.
pub fn patch<T, U>(
    value: MaybeUndefined<T>,
    f: impl FnOnce(T) -> ApiResult<Option<U>>,
) -> ApiResult<Patch<U>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => f(v).map(Some),
    }
}

/// A required field of an update input given as `null`.
pub fn required<T>(field: &str, value: MaybeUndefined<T>) -> ApiResult<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(ApiError::bad_input(
            field,
            format!("`{field}` cannot be null"),
        )),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

/// Applies a patch to a stored optional value.
pub fn apply<T>(target: &mut Option<T>, change: Patch<T>) {
    if let Some(v) = change {
        *target = v;
    }
}
