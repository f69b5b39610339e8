//! The one error type of gridgov and its mapping to GraphQL `extensions.code`.
//!
//! Every `Display` string is safe to show to a client. Database and internal failures are logged
//! with their cause where they happen and reach the client only as `INTERNAL` (or `UNAVAILABLE`
//! semantics under `INTERNAL` with "database unavailable"), never with SQL text or personal data.

use async_graphql::{ErrorExtensionValues, Value};
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
    #[error("rate limited, retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
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
            ApiError::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ApiError::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            ApiError::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
            ApiError::Unavailable | ApiError::Internal | ApiError::Retry => "INTERNAL",
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
            ApiError::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
            _ => {}
        }
    }
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
