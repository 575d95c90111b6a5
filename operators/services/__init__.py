"""Every write of the operators app: accounts, enrolment (docs/spec/SPEC.md §4a), invitations, webhooks —
one module each, all re-exported here (`from operators import services; services.enrolment_submit`).

Each service checks who acts, validates everything before writing, writes in one
transaction (so nothing is ever half-created) and schedules side effects with
`transaction.on_commit`. Errors are the `common.exceptions` family, French messages.

Enrolment states (one table in `enrolment.py`, like claims' workflow):

    pending ──request_changes (instructeur)──▶ changes_requested ──resubmit (représentant)──▶ pending
    pending ──validate (instructeur)──▶ validated    (creates/updates Operator, Referencing, Membership;
                                                     links a buyer's provider; records a signed contract v2)
    pending / changes_requested ──reject (instructeur)──▶ rejected

Bank-details changes (`bank_details.py`) and fraud signals (`fraud.py`):

    pending ──validate (instructeur / valideur)──▶ validated (IBAN/BIC copied onto the Operator)
    pending ──refuse (instructeur / valideur, reason)──▶ refused
"""

from operators.services.accounts import (
    account_create,
)
from operators.services.bank_details import (
    BANK_DETAILS_DECISIONS,
    bank_details_abilities,
    bank_details_refuse,
    bank_details_request,
    bank_details_validate,
)
from operators.services.contracts import (
    contract_v2_countersign,
    contract_v2_signed_uploaded,
)
from operators.services.enrolment import (
    DECLARED_FIELDS,
    ENROLMENT_TRANSITIONS,
    company_recheck,
    declared_provider_of,
    declared_values,
    enrolment_abilities,
    enrolment_link_provider,
    enrolment_reject,
    enrolment_request_changes,
    enrolment_resubmit,
    enrolment_submit,
    enrolment_validate,
    parse_vat_liable,
    required_enrolment_proof_kinds,
)
from operators.services.fraud import (
    fraud_flag_clear,
    fraud_signals_detect,
    fraud_signals_detect_all,
)
from operators.services.invitations import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    operator_can_invite,
)
from operators.services.messages import (
    AGENTS_CANNOT_ENROL,
    ALREADY_MEMBER,
    BANK_DETAILS_PENDING,
    BANK_DETAILS_UNCHANGED,
    CLEAR_REASON_REQUIRED,
    COMMENT_REQUIRED,
    FLAG_ALREADY_CLEARED,
    INVALID_INVITATION,
    OPEN_ENROLMENT_EXISTS,
    PROVIDER_NOT_LINKED,
    REFERENCING_TAKEN,
    REFUSAL_REASON_REQUIRED,
    REQUIRED,
    RIB_REQUIRED,
    VAT_DECLARATION_REQUIRED,
)
from operators.services.tokens import (
    LOGIN_TOKEN_NAME,
    TOKEN_NAME_REQUIRED,
    TOO_MANY_TOKENS,
    api_token_issue,
    api_token_revoke,
)
from operators.services.webhooks import (
    ATTEMPT_DELIVERED,
    ATTEMPT_RETRY,
    ATTEMPT_SKIPPED,
    schedule_webhook_delivery,
    validate_webhook_url,
    webhook_attempt,
    webhook_create,
    webhook_delete,
    webhook_deliveries_enqueue,
    webhook_give_up,
    webhook_request,
    webhook_rotate_secret,
    webhook_stalled_delivery_ids,
    webhook_update,
)

__all__ = [
    "AGENTS_CANNOT_ENROL",
    "ALREADY_MEMBER",
    "ATTEMPT_DELIVERED",
    "ATTEMPT_RETRY",
    "ATTEMPT_SKIPPED",
    "BANK_DETAILS_DECISIONS",
    "BANK_DETAILS_PENDING",
    "BANK_DETAILS_UNCHANGED",
    "CLEAR_REASON_REQUIRED",
    "COMMENT_REQUIRED",
    "DECLARED_FIELDS",
    "ENROLMENT_TRANSITIONS",
    "FLAG_ALREADY_CLEARED",
    "INVALID_INVITATION",
    "LOGIN_TOKEN_NAME",
    "OPEN_ENROLMENT_EXISTS",
    "PROVIDER_NOT_LINKED",
    "REFERENCING_TAKEN",
    "REFUSAL_REASON_REQUIRED",
    "REQUIRED",
    "RIB_REQUIRED",
    "TOKEN_NAME_REQUIRED",
    "TOO_MANY_TOKENS",
    "VAT_DECLARATION_REQUIRED",
    "account_create",
    "api_token_issue",
    "api_token_revoke",
    "bank_details_abilities",
    "bank_details_refuse",
    "bank_details_request",
    "bank_details_validate",
    "company_recheck",
    "contract_v2_countersign",
    "contract_v2_signed_uploaded",
    "declared_provider_of",
    "declared_values",
    "enrolment_abilities",
    "enrolment_link_provider",
    "enrolment_reject",
    "enrolment_request_changes",
    "enrolment_resubmit",
    "enrolment_submit",
    "enrolment_validate",
    "fraud_flag_clear",
    "fraud_signals_detect",
    "fraud_signals_detect_all",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "operator_can_invite",
    "parse_vat_liable",
    "required_enrolment_proof_kinds",
    "schedule_webhook_delivery",
    "validate_webhook_url",
    "webhook_attempt",
    "webhook_create",
    "webhook_delete",
    "webhook_deliveries_enqueue",
    "webhook_give_up",
    "webhook_request",
    "webhook_rotate_secret",
    "webhook_stalled_delivery_ids",
    "webhook_update",
]
