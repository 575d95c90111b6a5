"""factory-boy factories; claim states are Traits built through the real services."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from stdnum import luhn

from claims import payments, services
from claims.enums import ClaimKind, DocumentKind
from claims.models import Claim, PaymentAttempt
from funding.models import Campaign, FundingSchedule, MailboxCount
from operators import services as operator_services
from operators.enums import ContractStatus, OperatorKind, ReferencingStatus
from operators.models import ContractV2, Membership, Operator, Referencing
from operators.services import api_token_issue

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf(name="preuve.pdf", content=None):
    """A PDF proof; unless `content` is given, each call's bytes differ (as real proofs do), so the
    reused-file fraud signal (same SHA-256 across operators or proof kinds) stays quiet."""
    if content is None:
        content = PDF + f"% {next(_PDF_SERIAL)}\n".encode()
    return SimpleUploadedFile(name, content, content_type="application/pdf")


_PDF_SERIAL = itertools.count(1)


def _siren(n):
    base = f"{10_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.fr")
    password = factory.django.Password("pw")


def agent(username="instructeur1", group="instructeur"):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def validator(username="valideur1"):
    return agent(username, group="valideur")


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator
        skip_postgeneration_save = True

    legal_name = factory.Sequence(lambda n: f"Opérateur {n}")
    siren = factory.Sequence(_siren)
    kind = OperatorKind.DEVELOPER
    contact_email = factory.LazyAttribute(lambda o: f"contact-{o.siren}@example.fr")

    class Params:
        # Contract v2 countersigned and a valid referencing number: what every advance needs.
        eligible = factory.Trait(
            contract=factory.RelatedFactory(
                "tests.factories.ContractFactory", factory_related_name="operator", status=ContractStatus.COUNTERSIGNED
            ),
            referencing=factory.RelatedFactory("tests.factories.ReferencingFactory", factory_related_name="operator"),
        )


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractV2

    operator = factory.SubFactory(OperatorFactory)
    status = ContractStatus.COUNTERSIGNED
    signed_on = date(2023, 3, 1)
    countersigned_on = factory.LazyAttribute(
        lambda c: date(2023, 3, 15) if c.status == ContractStatus.COUNTERSIGNED else None
    )


class ReferencingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referencing

    operator = factory.SubFactory(OperatorFactory)
    number = factory.Sequence(lambda n: f"REF-{n:05d}")
    status = ReferencingStatus.VALID
    granted_on = date(2023, 5, 1)


def operator_user(operator, username=None):
    user = UserFactory(username=username or f"op-{operator.siren}")
    Membership.objects.create(user=user, operator=operator)
    return user


def api_key_for(user, name="tests"):
    """A fresh API token's key for `user` (what `POST /api/v1/auth/token` would hand out)."""

    return api_token_issue(user=user, name=name, replace_oldest=True)[1]


def segur_campaign(code="test-campaign", *, today=None, closure=None, advance_in=30, balance_in=60):
    """A campaign under the segur-2023 schedule whose deadlines are relative to `today`."""
    today = today or date.today()
    campaign, _ = Campaign.objects.update_or_create(
        code=code,
        defaults={
            "label": f"Campagne {code}",
            "schedule": FundingSchedule.objects.get(code="segur-2023"),
            "developer_schedule": FundingSchedule.objects.get(code="segur-2023"),
            "opening_date": (closure or today - timedelta(days=10)) - timedelta(days=180),
            "closure_date": closure or today - timedelta(days=10),
            "advance_deadline": today + timedelta(days=advance_in),
            "balance_deadline": today + timedelta(days=balance_in),
        },
    )
    return campaign


def record_counts(operator, campaign, app=10, org=100, per=1000):
    for mailbox_type, count in (("APP", app), ("ORG", org), ("PER", per)):
        MailboxCount.objects.update_or_create(
            operator=operator,
            mailbox_type=mailbox_type,
            as_of=campaign.closure_date,
            defaults={"count": count, "source_note": "test"},
        )


def advance_proof_kinds(operator):
    if operator.kind == OperatorKind.BUYER:
        return [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
    return [DocumentKind.CONFORMITY_REPORT]


def ready_advance(*, operator=None, campaign=None, user=None, at=None):
    """A draft advance with everything its submission needs; returns (claim, operator user)."""
    operator = operator or OperatorFactory(eligible=True)
    campaign = campaign or segur_campaign()
    user = user or operator_user(operator)
    record_counts(operator, campaign)
    claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user, at=at)
    for kind in advance_proof_kinds(operator):
        services.document_upload(claim=claim, actor=user, kind=kind, uploaded_file=pdf(), at=at)
    return claim, user


def declare_deployment(balance, user, *, deployed=None, installed=None):
    """Fill in what a balance declares: documentation link, deployment date, technical contact (and, for
    a buyer, the invoice's installation date), all on or before the closure."""
    closure = balance.campaign.closure_date
    details = {
        "technical_doc_url": balance.technical_doc_url or "https://docs.example.fr/api-lps",
        "deployment_date": deployed or closure - timedelta(days=5),
        "technical_contact_name": "Camille Martin",
        "technical_contact_email": "support@example.fr",
    }
    if balance.operator.is_buyer:
        details["installation_date"] = installed or closure - timedelta(days=20)
    return services.claim_update_details(claim=balance, actor=user, **details)


def ready_balance(advance, user, *, declared=True, commitment=True, at=None):
    """A draft balance next to an approved advance, with its commitment and declarations."""
    balance = services.claim_create(
        operator=advance.operator, campaign=advance.campaign, kind=ClaimKind.BALANCE, actor=user, at=at
    )
    if commitment:
        services.document_upload(
            claim=balance, actor=user, kind=DocumentKind.CONFORMITY_COMMITMENT, uploaded_file=pdf("annexe2.pdf"), at=at
        )
    if declared:
        balance = declare_deployment(balance, user)
    return balance


def approved(claim, *, instructor=None):
    """Walk a submitted claim through review to approval."""
    instructor = instructor or agent()
    claim = services.claim_take(claim=claim, actor=instructor)
    return services.claim_approve(claim=claim, actor=instructor, comment="Conforme.")


def paid(claim, *, instructor=None, payer=None):
    """Walk a submitted claim through review, approval and payment."""
    instructor = instructor or agent()
    payer = payer or validator()
    claim = services.claim_take(claim=claim, actor=instructor)
    claim = services.claim_approve(claim=claim, actor=instructor, comment="Conforme.")
    return services.claim_mark_paid(claim=claim, actor=payer, reference=f"VIR-{claim.pk}")


def claim_in_state(state, **kwargs):
    """An advance claim in `state`, reached through the real transitions."""
    claim, user = ready_advance(**kwargs)
    if state == "draft":
        return claim, user
    if state == "withdrawn":
        return services.claim_withdraw(claim=claim, actor=user), user
    claim = services.claim_submit(claim=claim, actor=user)
    if state == "submitted":
        return claim, user
    instructor = agent()
    claim = services.claim_take(claim=claim, actor=instructor)
    if state == "in_review":
        return claim, user
    if state == "changes_requested":
        return services.claim_request_changes(claim=claim, actor=instructor, comment="Pièce illisible."), user
    if state == "rejected":
        return services.claim_reject(claim=claim, actor=instructor, comment="Non conforme."), user
    claim = services.claim_approve(claim=claim, actor=instructor)
    if state == "approved":
        return claim, user
    if state == "paid":
        return services.claim_mark_paid(claim=claim, actor=validator(), reference="VIR-1"), user
    raise ValueError(state)


# Enrolment: what a representative declares through the service (GOOD) or posts through the portal
# form (ENROLMENT), and the proofs an entity liable to VAT (both declare it) must join.
GOOD = {
    "legal_name": "Omega Messagerie Santé",
    "siren": "732 829 320",
    "siret": "73282932000074",
    "kind": OperatorKind.DEVELOPER,
    "referencing_number": "REF-OMEGA-1",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPP",
    "contact_email": "contact@omega.example",
    "vat_liable": True,
}
ENROLMENT = {
    "legal_name": "Omega Messagerie Santé",
    "siren": "732829320",
    "siret": "73282932000074",
    "kind": "developer",
    "provider_siren": "",
    "provider_referencing_number": "",
    "vat_liable": "True",
    "referencing_number": "REF-OMEGA-1",
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPP",
    "contact_email": "contact@omega.example",
}
PROOF_KINDS = operator_services.required_enrolment_proof_kinds(vat_liable=True)


def proofs(**overrides):
    """One PDF per enrolment proof kind (PROOF_KINDS); `overrides` replace or add files by kind."""
    files = {kind: SimpleUploadedFile(f"{kind}.pdf", PDF, "application/pdf") for kind in PROOF_KINDS}
    files.update(overrides)
    return files


def submit_enrolment(user, documents=None, **fields):
    """An enrolment submitted through the service: GOOD with `fields` changed."""
    return operator_services.enrolment_submit(user=user, documents=documents or proofs(), **{**GOOD, **fields})


def enrolment_form():
    """The multipart body of `POST /api/v1/enrolments` for a new company (SIREN 443061841)."""
    data = {**GOOD, "siren": "443061841", "siret": "", "referencing_number": "REF-NEW"}
    return {**data, **proofs()}


def token_client(user):
    """An API client authenticated with a fresh token of `user`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


# Payment batches.
IBAN, BIC = "FR7630006000011234567890189", "AGRIFRPP"


def approved_claim(iban=IBAN, bic=BIC, **kwargs):
    """An approved advance whose operator has these bank details."""
    claim, _ = claim_in_state("approved", **kwargs)
    claim.operator.iban, claim.operator.bic = iban, bic
    claim.operator.save()
    return Claim.objects.get(pk=claim.pk)


def batch_of(*claims, actor=None):
    return payments.payment_batch_create(actor=actor or validator(), claims=[c.pk for c in claims])


def line_of(claim):
    """The claim's latest payment attempt (its line in a batch)."""
    return PaymentAttempt.objects.filter(claim=claim).order_by("-pk").first()


# Claims and enrolments in a given state. ClaimFactory and EnrolmentFactory walk the real transitions
# (event journal with its hash chain, receipts, letters, notifications): use them when a test reads the
# history. ClaimRowFactory writes the row alone, in any state, for tests that only list, count or export.
CLAIM_STATES = ("draft", "submitted", "in_review", "changes_requested", "approved", "paid", "rejected", "withdrawn")


class ClaimFactory(factory.django.DjangoModelFactory):
    """An advance of an eligible operator, ready to submit (`ClaimFactory()`), or in a state reached
    through the services: `ClaimFactory(submitted=True)`, `ClaimFactory(paid=True)`, `ClaimFactory(state=s)`.
    `operator`, `campaign`, `user` (the operator's user who files it) and `at` are passed on."""

    class Meta:
        model = Claim

    state = "draft"

    class Params:
        submitted = factory.Trait(state="submitted")
        in_review = factory.Trait(state="in_review")
        changes_requested = factory.Trait(state="changes_requested")
        approved = factory.Trait(state="approved")
        paid = factory.Trait(state="paid")
        rejected = factory.Trait(state="rejected")
        withdrawn = factory.Trait(state="withdrawn")

    @classmethod
    def _create(cls, model_class, *, state, **kwargs):
        return claim_in_state(state, **kwargs)[0]


class ClaimRowFactory(factory.django.DjangoModelFactory):
    """A claim row written directly (no event, document or letter): `ClaimRowFactory(state=ClaimState.APPROVED)`.
    Decided states carry the amounts an approval freezes."""

    class Meta:
        model = Claim

    operator = factory.SubFactory(OperatorFactory, eligible=True)
    campaign = factory.LazyFunction(segur_campaign)
    kind = ClaimKind.ADVANCE
    state = "draft"
    counts = factory.LazyFunction(lambda: {"APP": 10, "ORG": 100, "PER": 1000})  # as record_counts()
    amount = Decimal("4299.89")
    vat_rate = Decimal("0.2000")
    vat = factory.LazyAttribute(lambda c: (c.amount * c.vat_rate).quantize(Decimal("0.01")))
    amount_to_pay = factory.LazyAttribute(lambda c: c.amount + c.vat)


class EnrolmentFactory(factory.django.DjangoModelFactory):
    """An enrolment filed by a new representative (GOOD with any field changed), pending
    (`EnrolmentFactory()`) or moved on by an instructor through the services:
    `EnrolmentFactory(validated=True)`, `changes_requested=True`, `rejected=True`."""

    class Meta:
        model = "operators.Enrolment"

    state = "pending"

    class Params:
        changes_requested = factory.Trait(state="changes_requested")
        validated = factory.Trait(state="validated")
        rejected = factory.Trait(state="rejected")

    @classmethod
    def _create(cls, model_class, *, state, user=None, documents=None, **fields):
        if user is None:
            name = f"rep-{next(_PDF_SERIAL)}"
            user = operator_services.account_create(
                username=name, email=f"{name}@example.fr", password="Un-mot-de-passe-s0lide"
            )
        enrolment = submit_enrolment(user, documents, **fields)
        if state == "pending":
            return enrolment
        instructor = agent()
        if state == "changes_requested":
            return operator_services.enrolment_request_changes(enrolment=enrolment, actor=instructor, message="RIB ?")
        if state == "validated":
            return operator_services.enrolment_validate(enrolment=enrolment, actor=instructor)
        if state == "rejected":
            return operator_services.enrolment_reject(enrolment=enrolment, actor=instructor, reason="Non éligible.")
        raise ValueError(state)
