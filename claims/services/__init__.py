"""Every write on claims, one module per seam; the public names are importable from here.

Each service locks what it changes, checks role, state and guards, writes, appends the audit
event in the same transaction and schedules notifications with `on_commit` — the transitions
through the one routine of common.workflow (`claims.workflow.TRANSITIONS.fire`).

    filing     drafts, their details, submit / resubmit / withdraw
    review     take, request changes, approve (and the recovery of a negative balance), reject, reopen
    paying     a payment confirmed by hand (batches and bank returns: claims.payments)
    deadlines  extensions, lapsing, reminders (the daily job)
    abilities  what a user may do on a claim (API, admin, portal)
Documents (proofs, receipts, letters) are stored by claims.documents.
"""

from claims.documents import attach_decision_letter, attach_receipt, document_upload
from claims.services.abilities import (
    CLAIM_ABILITIES,
    claim_abilities,
    claim_transition_options,
    may_extend_deadline,
    may_upload,
)
from claims.services.deadlines import (
    claim_lapse,
    daily_housekeeping,
    deadline_extension_grant,
    lapse_overdue_drafts,
    send_correction_reminders,
    send_deadline_reminders,
)
from claims.services.filing import (
    DETAIL_FIELDS,
    claim_create,
    claim_resubmit,
    claim_submit,
    claim_update_details,
    claim_withdraw,
)
from claims.services.paying import claim_mark_paid
from claims.services.review import claim_approve, claim_reject, claim_reopen, claim_request_changes, claim_take
from common.workflow import COMMENT_REQUIRED

__all__ = [
    "CLAIM_ABILITIES",
    "COMMENT_REQUIRED",
    "DETAIL_FIELDS",
    "attach_decision_letter",
    "attach_receipt",
    "claim_abilities",
    "claim_approve",
    "claim_create",
    "claim_lapse",
    "claim_mark_paid",
    "claim_reject",
    "claim_reopen",
    "claim_request_changes",
    "claim_resubmit",
    "claim_submit",
    "claim_take",
    "claim_transition_options",
    "claim_update_details",
    "claim_withdraw",
    "daily_housekeeping",
    "deadline_extension_grant",
    "document_upload",
    "lapse_overdue_drafts",
    "may_extend_deadline",
    "may_upload",
    "send_correction_reminders",
    "send_deadline_reminders",
]
