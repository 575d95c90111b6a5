"""The agents' back office for claims, one module per page family (registered on import):

    claim       the claims list and page (buttons from claims.workflow.TRANSITIONS), deadline
                extensions, downloads, exports, the campaigns' dashboard
    recovery    recovery cases (buttons from claims.recoveries.RECOVERY_TRANSITIONS)
    payments    payment batches (buttons from claims.workflow.BATCH_TRANSITIONS), their lines,
                bank returns, payments
    filters, inlines   what the claim page is made of

Every button calls the same services as the API and the portal, with `actor=request.user`; what a
button may do is asked of the tables and of `claim_abilities`, never decided here.
"""

from claims.admin.claim import STATE_COLOURS, ClaimAdmin, DeadlineExtensionAdmin
from claims.admin.inlines import ClaimEventInline, DocumentInline, RecoveryInline
from claims.admin.payments import BankReturnAdmin, PaymentAdmin, PaymentAttemptAdmin, PaymentBatchAdmin
from claims.admin.recovery import RecoveryAdmin
from common.admin import ReadOnlyInline, report_error

__all__ = [
    "STATE_COLOURS",
    "BankReturnAdmin",
    "ClaimAdmin",
    "ClaimEventInline",
    "DeadlineExtensionAdmin",
    "DocumentInline",
    "PaymentAdmin",
    "PaymentAttemptAdmin",
    "PaymentBatchAdmin",
    "ReadOnlyInline",
    "RecoveryAdmin",
    "RecoveryInline",
    "report_error",
]
