//! Participation mutations: registration (one or a batch, idempotent) and the life cycle.

use super::write;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::schema::input::{opt_long_text, opt_text};
use crate::schema::participation::Participation;
use crate::schema::relay::id_of;
use crate::schema::scalars::{DateTime as Instant, ParticipationRole};
use crate::store::participation::{self as store, Registration};
use crate::store::write::{idempotency_key, input_hash};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, SubsecRound, Utc};
use entity::{organization, participation, person, service};
use serde::Serialize;

/// A registration for `registerParticipation` and `registerParticipations`.
#[derive(InputObject, Serialize, Clone)]
pub struct RegisterParticipationInput {
    /// The service (global id): PUBLISHED or IN_PROGRESS, with a place left.
    pub service_id: ID,
    /// The person taking part (global id).
    pub person_id: ID,
    /// The organisation registering the person (e.g. a volunteer organisation).
    pub organization_id: Option<ID>,
    /// How the person takes part; VOLUNTEER when omitted.
    #[graphql(default_with = "ParticipationRole::Volunteer")]
    pub role: ParticipationRole,
    /// The registering platform's own reference.
    pub external_ref: Option<String>,
    /// Makes retries safe: the same key with the same input returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl RegisterParticipationInput {
    /// Validates the input; a VOLUNTEER_ORG registers for its own organisation only.
    fn validate(&self, caller: &Caller) -> ApiResult<Registration> {
        let mut organization_id = self
            .organization_id
            .as_ref()
            .map(|o| id_of::<organization::Entity>(o, "organizationId"))
            .transpose()?;
        if caller.role == Role::VolunteerOrg {
            match (organization_id, caller.organization_id) {
                (None, own) => organization_id = own,
                (Some(given), Some(own)) if given == own => {}
                _ => {
                    return Err(ApiError::Forbidden(
                        "a volunteer organisation registers participations for itself only (organizationId)".into(),
                    ));
                }
            }
        }
        Ok(Registration {
            service_id: id_of::<service::Entity>(&self.service_id, "serviceId")?,
            person_id: id_of::<person::Entity>(&self.person_id, "personId")?,
            organization_id,
            role: self.role.into(),
            external_ref: opt_text("externalRef", self.external_ref.as_deref(), 200)?,
            idempotency_key: idempotency_key(&self.idempotency_key)?.map(str::to_owned),
            input_hash: input_hash(self),
        })
    }
}

/// Result of `registerParticipation`.
#[derive(SimpleObject)]
pub struct RegisterParticipationPayload {
    /// The participation as it is after the mutation.
    pub participation: Participation,
}

/// Why one item of a batch failed; `code` is an `extensions.code` value.
#[derive(SimpleObject, Clone)]
pub struct ItemError {
    /// The error's `extensions.code`, e.g. `BAD_USER_INPUT`, `CONFLICT`, `NOT_FOUND`.
    pub code: String,
    /// Human-readable message, safe to show.
    pub message: String,
    /// The input field at fault, when one is.
    pub field: Option<String>,
    /// Machine-readable detail, e.g. `SERVICE_FULL` or `IDEMPOTENCY_KEY_REUSED`.
    pub reason: Option<String>,
}

impl From<&ApiError> for ItemError {
    fn from(e: &ApiError) -> Self {
        let (field, reason) = match e {
            ApiError::BadUserInput { field, .. } => (field.clone(), None),
            ApiError::NotFoundField { field, .. } => (Some(field.clone()), None),
            ApiError::Conflict {
                reason, details, ..
            } => (
                details
                    .iter()
                    .find(|(k, _)| k == "field")
                    .and_then(|(_, v)| v.as_str().map(str::to_owned)),
                reason.map(str::to_owned),
            ),
            _ => (None, None),
        };
        ItemError {
            code: e.code().to_owned(),
            message: e.to_string(),
            field,
            reason,
        }
    }
}

/// The outcome of one item of `registerParticipations`.
#[derive(SimpleObject)]
pub struct RegisterParticipationResult {
    /// Position of the item in `inputs`.
    pub index: i32,
    /// The participation registered; null when the item failed.
    pub participation: Option<Participation>,
    /// Why the item failed; null when it succeeded.
    pub error: Option<ItemError>,
}

/// Result of `registerParticipations`: one result per item.
#[derive(SimpleObject)]
pub struct RegisterParticipationsPayload {
    /// One result per input, in input order.
    pub results: Vec<RegisterParticipationResult>,
    /// Items that succeeded (including idempotent replays).
    pub succeeded: i32,
    /// Items that failed.
    pub failed: i32,
}

/// Result of `checkIn`.
#[derive(SimpleObject)]
pub struct CheckInPayload {
    /// The participation as it is after the mutation.
    pub participation: Participation,
}
/// Result of `checkOut`.
#[derive(SimpleObject)]
pub struct CheckOutPayload {
    /// The participation as it is after the mutation.
    pub participation: Participation,
}
/// Result of `cancelParticipation`.
#[derive(SimpleObject)]
pub struct CancelParticipationPayload {
    /// The participation as it is after the mutation.
    pub participation: Participation,
}
/// Result of `markNoShow`.
#[derive(SimpleObject)]
pub struct MarkNoShowPayload {
    /// The participation as it is after the mutation.
    pub participation: Participation,
}

fn micros(t: Option<Instant>) -> Option<DateTime<Utc>> {
    t.map(|t| t.0.trunc_subsecs(6))
}

#[derive(Default)]
pub struct ParticipationMutation;

#[Object]
impl ParticipationMutation {
    /// Registers a person for a PUBLISHED or IN_PROGRESS service, within its capacity.
    async fn register_participation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who takes part in which service, and how.")]
        input: RegisterParticipationInput,
    ) -> ApiResult<RegisterParticipationPayload> {
        super::caller(ctx)?.require_write(super::PARTICIPATION_WRITERS)?;
        let items = vec![Ok(input.validate(super::caller(ctx)?)?)];
        let items = &items;
        let mut results = write(ctx, move |w| async move {
            store::register_many(&w, items).await
        })
        .await?;
        let model = results.pop().ok_or(ApiError::Internal)??;
        Ok(RegisterParticipationPayload {
            participation: Participation(model),
        })
    }

    /// Registers up to 1,000 participations in one transaction. Each item succeeds or fails on
    /// its own (`results[i].error`); the batch fails as a whole only when the database does.
    async fn register_participations(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The registrations, at most 1,000; each is handled like `registerParticipation`."
        )]
        inputs: Vec<RegisterParticipationInput>,
    ) -> ApiResult<RegisterParticipationsPayload> {
        super::caller(ctx)?.require_write(super::PARTICIPATION_WRITERS)?;
        let max = crate::caps::current().max_batch_items;
        if inputs.len() > max {
            return Err(ApiError::bad_input(
                "inputs",
                format!("`inputs` takes at most {max} items"),
            ));
        }
        let items: Vec<Result<Registration, ApiError>> = {
            let caller = super::caller(ctx)?;
            inputs.iter().map(|i| i.validate(caller)).collect()
        };
        let items = &items;
        let outcomes = write(ctx, move |w| async move {
            store::register_many(&w, items).await
        })
        .await?;
        let mut results = Vec::with_capacity(outcomes.len());
        let (mut succeeded, mut failed) = (0, 0);
        for (index, outcome) in outcomes.into_iter().enumerate() {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            results.push(match outcome {
                Ok(p) => {
                    succeeded += 1;
                    RegisterParticipationResult {
                        index,
                        participation: Some(Participation(p)),
                        error: None,
                    }
                }
                Err(e) => {
                    failed += 1;
                    RegisterParticipationResult {
                        index,
                        participation: None,
                        error: Some(ItemError::from(&e)),
                    }
                }
            });
        }
        Ok(RegisterParticipationsPayload {
            results,
            succeeded,
            failed,
        })
    }

    /// REGISTERED → CHECKED_IN, at `at` (default: now), which must lie between 2 hours before
    /// the service's `startsAt` and its end (`endsAt`, or 24 hours after `startsAt`).
    async fn check_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the participation.")] id: ID,
        #[graphql(desc = "When the person arrived; now when omitted.")] at: Option<Instant>,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<CheckInPayload> {
        super::caller(ctx)?.require_write(super::PARTICIPATION_WRITERS)?;
        let id = id_of::<participation::Entity>(&id, "id")?;
        let at = micros(at);
        let model = write(ctx, move |w| async move {
            store::check_in(&w, id, at, expected_version).await
        })
        .await?;
        Ok(CheckInPayload {
            participation: Participation(model),
        })
    }

    /// CHECKED_IN → COMPLETED, at `at` (default: now), no later than 2 hours after the
    /// service's end. `minutes` defaults to the time between check-in and check-out inside the
    /// service's window and may not exceed it.
    async fn check_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the participation.")] id: ID,
        #[graphql(desc = "When the person left; now when omitted.")] at: Option<Instant>,
        #[graphql(
            desc = "Minutes to credit: 0 up to the time between check-in and check-out inside the service's window, which is the default."
        )]
        minutes: Option<i32>,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<CheckOutPayload> {
        super::caller(ctx)?.require_write(super::PARTICIPATION_WRITERS)?;
        let id = id_of::<participation::Entity>(&id, "id")?;
        let at = micros(at);
        let model = write(ctx, move |w| async move {
            store::check_out(&w, id, at, minutes, expected_version).await
        })
        .await?;
        Ok(CheckOutPayload {
            participation: Participation(model),
        })
    }

    /// REGISTERED or CHECKED_IN → CANCELLED; frees the place. The reason goes to the audit trail.
    async fn cancel_participation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the participation.")] id: ID,
        #[graphql(
            desc = "Why, at most 500 characters (line breaks allowed); kept in the audit entry."
        )]
        reason: Option<String>,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<CancelParticipationPayload> {
        super::caller(ctx)?.require_write(super::PARTICIPATION_WRITERS)?;
        let id = id_of::<participation::Entity>(&id, "id")?;
        let reason = opt_long_text("reason", reason.as_deref(), 500)?;
        let reason = &reason;
        let model = write(ctx, move |w| async move {
            store::cancel(&w, id, reason.clone(), expected_version).await
        })
        .await?;
        Ok(CancelParticipationPayload {
            participation: Participation(model),
        })
    }

    /// REGISTERED → NO_SHOW.
    async fn mark_no_show(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global id of the participation.")] id: ID,
        #[graphql(
            desc = "The `version` last read; when the object has changed since, the mutation is `CONFLICT` (`VERSION_MISMATCH`). Omit to skip the check."
        )]
        expected_version: Option<i32>,
    ) -> ApiResult<MarkNoShowPayload> {
        super::caller(ctx)?.require_write(super::PARTICIPATION_WRITERS)?;
        let id = id_of::<participation::Entity>(&id, "id")?;
        let model = write(ctx, move |w| async move {
            store::mark_no_show(&w, id, expected_version).await
        })
        .await?;
        Ok(MarkNoShowPayload {
            participation: Participation(model),
        })
    }
}
