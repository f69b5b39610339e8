//! The one error type of gridgov and its mapping to GraphQL `extensions.code`.
//!
//! Every `Display` string is safe to show to a client. Database and internal failures are logged
//! with their cause where they happen and reach the client only as `INTERNAL` (or `UNAVAILABLE`
//! semantics under `INTERNAL` with "database unavailable"), never with SQL text or personal data.

use async_graphql::{ErrorExtensionValues, ServerError, Value};
use sea_orm::DbErr;

/// Errors a resolver or a store function can return.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The client sent something invalid; `field` names the offending argument or input field.
    #[error("{message}")]
    BadUserInput {
        message: String,
        field: Option<String>,
    },
    /// The object does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(String),
    /// An object named by an input field does not exist.
    #[error("{what} not found")]
    NotFoundField { what: String, field: String },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        message: String,
        reason: Option<&'static str>,
        details: Vec<(String, serde_json::Value)>,
    },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("authentication required")]
    Unauthenticated,
    /// The caller's bucket cannot pay for the operation now; `retry_after_secs` (at least 1)
    /// is when it can.
    #[error("rate limited: the operation costs {cost} points; retry after {retry_after_secs} s")]
    RateLimited { cost: u64, retry_after_secs: u64 },
    /// The operation costs more than a full bucket holds: no wait makes it affordable.
    #[error(
        "the operation costs {requested} points, more than a bucket holds ({maximum}); ask for less"
    )]
    MaxCostExceeded { requested: u64, maximum: u64 },
    /// The request body is larger than the limit (HTTP 413).
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The request took longer than the limit (HTTP 408).
    #[error("the request took longer than {secs} s")]
    Timeout { secs: u64 },
    /// The HTTP method cannot run this request (HTTP 405), e.g. a mutation sent with GET.
    #[error("{0}")]
    MethodNotAllowed(&'static str),
    /// The database could not be reached; the cause has been logged.
    #[error("database unavailable")]
    Unavailable,
    /// A request named an automatic persisted query this server does not know; Apollo Client
    /// matches the message as well as the code, then sends the document's text.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// Automatic persisted queries are off (`GRIDGOV_APQ=false`); Apollo Client then stops
    /// sending hashes.
    #[error("PersistedQueryNotSupported")]
    PersistedQueryNotSupported,
    /// Only trusted documents run (`GRIDGOV_TRUSTED_DOCUMENTS=require`) and the request sent
    /// free text or an id that is not one of them.
    #[error("PersistedQueryNotInList: only trusted documents, sent by id, run on this server")]
    PersistedQueryNotInList,
    /// Anything else; the cause has been logged.
    #[error("internal error")]
    Internal,
    /// A write attempt hit a transient conflict and should run again (handled by
    /// `store::write::transaction`; never meant to reach a client).
    #[error("the database was busy; retry")]
    Retry,
}

impl ApiError {
    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadUserInput { .. } => "BAD_USER_INPUT",
            ApiError::NotFound(_) | ApiError::NotFoundField { .. } => "NOT_FOUND",
            ApiError::Conflict { .. } => "CONFLICT",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::MaxCostExceeded { .. } => "MAX_COST_EXCEEDED",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::Timeout { .. } => "TIMEOUT",
            ApiError::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            ApiError::Unavailable => "UNAVAILABLE",
            ApiError::Internal | ApiError::Retry => "INTERNAL",
            ApiError::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ApiError::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            ApiError::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
        }
    }

    /// Bad input in the argument or input field `field`.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadUserInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    /// Logs `cause` (which must not contain personal data) and returns [`ApiError::Internal`].
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }

    /// Writes `code`, `field` and the details of this error into GraphQL error extensions.
    pub fn fill_extensions(&self, ext: &mut ErrorExtensionValues) {
        ext.set("code", self.code());
        match self {
            ApiError::BadUserInput {
                field: Some(field), ..
            }
            | ApiError::NotFoundField { field, .. } => ext.set("field", field.as_str()),
            ApiError::Conflict {
                reason, details, ..
            } => {
                if let Some(reason) = reason {
                    ext.set("reason", *reason);
                }
                for (k, v) in details {
                    if let Ok(v) = Value::from_json(v.clone()) {
                        ext.set(k.as_str(), v);
                    }
                }
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => ext.set("retryAfter", *retry_after_secs),
            ApiError::MaxCostExceeded { requested, maximum } => {
                ext.set("requestedQueryCost", *requested);
                ext.set("maximumAvailable", *maximum);
            }
            _ => {}
        }
    }
}

impl ApiError {
    /// The GraphQL error of this error: its client-safe message, its extensions, and the error
    /// itself as the source, from which the transports choose the HTTP status. Every error
    /// gridgov answers with is built here or by [`classify`].
    pub fn to_server_error(&self) -> ServerError {
        let mut e = ServerError::new(self.to_string(), None);
        let mut ext = ErrorExtensionValues::default();
        self.fill_extensions(&mut ext);
        e.extensions = Some(ext);
        e.source = Some(std::sync::Arc::new(self.clone()));
        e
    }

    /// The gridgov error a GraphQL error was built from, if any.
    pub fn of(e: &ServerError) -> Option<&ApiError> {
        e.source.as_ref().and_then(|s| s.downcast_ref::<ApiError>())
    }
}

/// Gives every error of a response a stable `extensions.code`, and hides the text of anything
/// unexpected: errors a resolver returned as [`ApiError`] get its message and extensions;
/// anything else with a source (some error turned into a GraphQL error with `?`) becomes
/// `INTERNAL` with its text logged; async-graphql's own parse, validation and coercion errors
/// are `BAD_USER_INPUT`.
pub fn classify(e: &mut ServerError) {
    if let Some(api) = ApiError::of(e).cloned() {
        e.message = api.to_string();
        api.fill_extensions(e.extensions.get_or_insert_with(Default::default));
    } else if e.source.is_some() {
        tracing::error!(error = %e.message, "unclassified resolver error");
        e.message = "internal error".to_owned();
        e.source = Some(std::sync::Arc::new(ApiError::Internal));
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", ApiError::Internal.code());
    } else {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", "BAD_USER_INPUT");
        }
    }
}

/// The `extensions.code` of an error.
pub fn code_of(e: &ServerError) -> Option<&str> {
    e.extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })
}

/// Whether `e` means the database cannot be reached (rather than that a statement failed):
/// no connection could be had, the connection broke, or the server is shutting down or
/// starting up. Such requests answer "database unavailable" (HTTP 503) instead of waiting.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    match &**sqlx {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), admin_shutdown, crash_shutdown,
        // cannot_connect_now.
        Sqlx::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        if is_unavailable(&e) {
            tracing::error!(error = %e, "database unavailable");
            ApiError::Unavailable
        } else {
            ApiError::internal(e)
        }
    }
}

impl From<async_graphql::Error> for ApiError {
    fn from(e: async_graphql::Error) -> Self {
        match e.source.as_ref().and_then(|s| s.downcast_ref::<ApiError>()) {
            Some(api) => api.clone(),
            None => ApiError::internal(e.message),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
