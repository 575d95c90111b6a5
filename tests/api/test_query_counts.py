"""Every paginated API list runs the same number of SQL queries with 3 rows and with 30 (no N+1).

Each case fills its list to N rows (with varied related rows: other uploaders, campaigns,
providers, accepted invitations…, so that a per-row lookup would show), calls the endpoint once
to warm the caches, counts the queries at 3 rows, grows to 30 and counts again. A paginated list
missing from CASES fails `test_every_paginated_list_is_covered`. Runs on SQLite and PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from claims import services
from claims.enums import UPLOADABLE_KINDS, ClaimKind, ClaimState, DocumentKind, RecoveryState
from claims.models import Claim, Document, Recovery
from funding.models import Campaign, FundingSchedule
from operators import secret_box
from operators.enums import EnrolmentDocumentKind, EnrolmentState, OperatorKind, WebhookDeliveryStatus
from operators.models import Enrolment, EnrolmentDocument, EnrolmentEvent, Invitation, Webhook, WebhookDelivery
from tests.factories import (
    OperatorFactory,
    UserFactory,
    agent,
    operator_user,
    ready_advance,
    segur_campaign,
    token_client,
)

pytestmark = pytest.mark.django_db

STATES = [ClaimState.DRAFT, ClaimState.SUBMITTED, ClaimState.IN_REVIEW, ClaimState.APPROVED, ClaimState.PAID]


@pytest.fixture
def ctx():
    """An operator's user and a colleague, a draft advance (its proofs and history), a webhook, an API client."""
    claim, user = ready_advance()
    webhook = Webhook.objects.create(
        operator=claim.operator, url="https://hooks.example.fr/a", sealed_secret=secret_box.seal("s"), created_by=user
    )
    colleague = operator_user(claim.operator, username="colleague")
    return {
        "user": user,
        "colleague": colleague,
        "claim": claim,
        "webhook": webhook,
        "client": token_client(user),
        "agent": agent(),
    }


# --- Fillers: bring a list to `n` rows -----------------------------------------------------------


def fill_claims(ctx, n):
    operator = ctx["claim"].operator
    existing = Claim.objects.filter(operator=operator).count()
    for index in range(existing, n):
        # One live claim per operator, campaign and kind: two claims per campaign.
        campaign = segur_campaign(code=f"qc-{index // 2}")
        kind = ClaimKind.BALANCE if index % 2 else ClaimKind.ADVANCE
        if Claim.objects.filter(operator=operator, campaign=campaign, kind=kind).exists():
            campaign, kind = segur_campaign(code=f"qc-extra-{index}"), ClaimKind.ADVANCE
        Claim.objects.create(
            operator=operator,
            campaign=campaign,
            kind=kind,
            state=STATES[index % len(STATES)],
            amount=1000 + index,
            assigned_to=ctx["agent"] if index % 3 else None,
        )


def fill_documents(ctx, n):
    claim = ctx["claim"]
    for index in range(claim.documents.count(), n):
        kind = UPLOADABLE_KINDS[index % len(UPLOADABLE_KINDS)]
        Document.objects.create(
            operator=claim.operator,
            claim=claim,
            kind=kind,
            version=claim.documents.filter(kind=kind).count() + 1,
            file=f"proofs/{claim.operator_id}/qc-{index}.pdf",
            original_name=f"piece-{index}.pdf",
            content_type="application/pdf",
            size=100,
            sha256="0" * 64,
            uploaded_by=(ctx["user"], ctx["colleague"], ctx["agent"])[index % 3],
        )


def fill_events(ctx, n):
    claim = ctx["claim"]
    for index in range(claim.events.count(), n):
        services.claim_update_details(claim=claim, actor=ctx["user"], technical_doc_url=f"https://d.example.fr/{index}")


def fill_recoveries(ctx, n):
    """Recovery cases in varied states, each with a letter or an attachment (the documents are
    prefetched, never read per case)."""
    claim = ctx["claim"]
    states = list(RecoveryState)
    for index in range(claim.recoveries.count(), n):
        case = Recovery.objects.create(
            claim=claim,
            state=states[index % len(states)],
            amount_notified=100 + index,
            grounds=f"Motif {index}",
            observations_due=timezone.localdate() + timedelta(days=index - 5),
            opened_by=ctx["agent"],
            opened_at=timezone.now(),
        )
        kind = DocumentKind.DECISION_LETTER if index % 2 else DocumentKind.RECOVERY_OBSERVATIONS
        Document.objects.create(
            operator=claim.operator,
            claim=claim,
            recovery=case,
            kind=kind,
            version=claim.documents.filter(kind=kind).count() + 1,
            file=f"proofs/{claim.operator_id}/qc-r{index}.pdf",
            original_name=f"indu-{index}.pdf",
            content_type="application/pdf",
            size=100,
            sha256="0" * 64,
            uploaded_by=(ctx["user"], ctx["agent"])[index % 2],
        )


def fill_webhooks(ctx, n):
    operator = ctx["claim"].operator
    for index in range(Webhook.objects.filter(operator=operator).count(), n):
        Webhook.objects.create(
            operator=operator,
            url=f"https://hooks.example.fr/{index}",
            sealed_secret=secret_box.seal("s"),
            is_active=bool(index % 2),
            created_by=ctx["user"] if index % 2 else None,
        )


def fill_deliveries(ctx, n):
    webhook = ctx["webhook"]
    statuses = list(WebhookDeliveryStatus)
    for index in range(webhook.deliveries.count(), n):
        WebhookDelivery.objects.create(
            webhook=webhook,
            event_key=f"claim-event:{index}",
            event_type="claim.state_changed",
            payload={"claim": index},
            status=statuses[index % len(statuses)],
            attempts=index % 4,
        )


def fill_invitations(ctx, n):
    operator = ctx["claim"].operator
    now = timezone.now()
    for index in range(Invitation.objects.filter(operator=operator).count(), n):
        accepted = index % 3 == 0
        Invitation.objects.create(
            operator=operator,
            email=f"invite{index}@example.fr",
            token_hash=f"{index:064d}",
            invited_by=ctx["user"] if index % 2 else ctx["colleague"],
            expires_at=now + timedelta(days=7 - index % 9),
            accepted_at=now if accepted else None,
            accepted_by=UserFactory(username=f"invited{index}") if accepted else None,
        )


def fill_enrolments(ctx, n):
    user = ctx["user"]
    providers = [OperatorFactory(), OperatorFactory()]
    for index in range(Enrolment.objects.filter(user=user).count(), n):
        buyer = index % 2 == 1
        enrolment = Enrolment.objects.create(
            user=user,
            state=EnrolmentState.REJECTED if index % 3 else EnrolmentState.VALIDATED,
            legal_name=f"Entité {index}",
            siren="732829320",
            kind=OperatorKind.BUYER if buyer else OperatorKind.DEVELOPER,
            provider=providers[index % 2] if buyer else None,
            referencing_number=f"REF-{index}",
            iban="FR7630001007941234567890185",
            bic="BDFEFRPPCCT",
            operator=ctx["claim"].operator if index % 3 == 0 else None,
            decided_by=ctx["agent"],
        )
        EnrolmentDocument.objects.create(
            enrolment=enrolment,
            kind=EnrolmentDocumentKind.BANK_DETAILS,
            file=f"enrolments/qc-{index}.pdf",
            original_name="rib.pdf",
            content_type="application/pdf",
            size=100,
            sha256="0" * 64,
            uploaded_by=user,
        )
        EnrolmentEvent.objects.create(
            enrolment=enrolment,
            seq=1,
            at=timezone.now(),
            actor=user,
            actor_label=user.username,
            action="submit",
            to_state=EnrolmentState.PENDING,
            prev_hash="0" * 64,
            hash="1" * 64,
        )


def fill_schedules(ctx, n):
    for index in range(FundingSchedule.objects.filter(is_published=True).count(), n):
        FundingSchedule.objects.create(
            code=f"qc-{index}",
            label=f"Barème {index}",
            rate_app=1,
            rate_org=2,
            rate_per=3,
            base=100,
            cap=1000,
            advance_share="0.3",
        )


def fill_campaigns(ctx, n):
    for index in range(Campaign.objects.count(), n):
        segur_campaign(code=f"qc-campaign-{index}")


# (name, path, filler, authenticated); `{claim}` and `{webhook}` are the fixture's objects.
CASES = [
    ("claims", "/api/v1/claims/", fill_claims, True),
    ("claims filtered", "/api/v1/claims/?kind=advance&state=draft", fill_claims, True),
    ("claim documents", "/api/v1/claims/{claim}/documents", fill_documents, True),
    ("claim events", "/api/v1/claims/{claim}/events", fill_events, True),
    ("claim recoveries", "/api/v1/claims/{claim}/recoveries", fill_recoveries, True),
    ("webhooks", "/api/v1/webhooks", fill_webhooks, True),
    ("webhook deliveries", "/api/v1/webhooks/{webhook}/deliveries", fill_deliveries, True),
    ("invitations", "/api/v1/operator/invitations", fill_invitations, True),
    ("enrolments", "/api/v1/enrolments", fill_enrolments, True),
    ("schedules", "/api/v1/schedules", fill_schedules, False),
    ("campaigns", "/api/v1/campaigns", fill_campaigns, False),
]


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


@pytest.mark.parametrize(("name", "path", "fill", "authenticated"), CASES, ids=[case[0] for case in CASES])
def test_list_queries_do_not_grow_with_rows(ctx, api_client, name, path, fill, authenticated):
    client = ctx["client"] if authenticated else api_client
    path = path.format(claim=ctx["claim"].pk, webhook=ctx["webhook"].pk)
    fill(ctx, 3)
    client.get(path)  # warm-up: one-time lookups (content types, caches) are not per row
    few, small = count_queries(client, path)
    fill(ctx, 30)
    many, big = count_queries(client, path)
    assert big["count"] > small["count"], "the list must really have grown"
    if "?" not in path:
        assert (small["count"], big["count"]) == (3, 30)
    assert many == few, f"{name}: {few} queries with {small['count']} rows, {many} with {big['count']}"


def test_every_paginated_list_is_covered():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paginated = {
        path
        for path, item in schema["paths"].items()
        if "get" in item
        and item["get"]["responses"]
        .get("200", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref", "")
        .startswith("#/components/schemas/Paginated")
    }
    covered = {
        path.split("?")[0].rstrip("/").replace("{claim}", "{id}").replace("{webhook}", "{id}")
        for _, path, _, _ in CASES
    }
    assert paginated - covered == set(), "paginated lists missing from CASES"
