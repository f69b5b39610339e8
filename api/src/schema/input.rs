//! Validation of mutation inputs: text lengths, patches, and the error naming the field.

use crate::error::{ApiError, ApiResult};
use async_graphql::MaybeUndefined;

/// A required text: trimmed, non-empty, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if v.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

/// An optional text: trimmed; empty means absent.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
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
