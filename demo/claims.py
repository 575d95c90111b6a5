"""Demo claims in every state, built through the real services so their history is genuine."""

import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from claims import services
from claims.enums import ClaimKind, DocumentKind
from claims.models import Claim
from funding import services as funding_services
from funding.enums import MailboxType
from funding.models import Campaign
from operators.models import Membership

# Mailboxes at the demo campaign's closure per operator (first word of its name): (APP, ORG, PER).
# ORG and PER are also what the demo Annuaire extraction of that day publishes (seed_demo, demo.funding).
DEMO_COUNTS = {
    "alpha": (120, 2_400, 31_000),
    "beta": (3, 150, 2_200),
    "gamma": (40, 900, 12_000),
    "delta": (0, 60, 800),
    "epsilon": (1, 20, 300),
    "zeta": (8, 300, 4_100),
}
DEMO_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def demo_pdf_bytes():
    """A demo proof whose bytes are its own: one file filed twice is a fraud signal (issue 12)."""
    return DEMO_PDF + f"% {uuid.uuid4().hex}\n".encode()


def _pdf(name):
    return SimpleUploadedFile(name, demo_pdf_bytes(), content_type="application/pdf")


def seed_claims(*, campaign, operators, stdout):
    if Claim.objects.filter(campaign=campaign).exists():
        stdout.write("Demandes de démonstration déjà présentes : inchangées.")
        return
    users = get_user_model().objects
    agent, supervisor = users.get(username="agent"), users.get(username="supervisor")
    by_name = {op.legal_name.split()[0].lower(): op for op in operators}
    # APP is not in the public file: an instructor's entry establishes it; ORG and PER come from the
    # demo extraction of the closure day.
    for name, (app, _org, _per) in DEMO_COUNTS.items():
        funding_services.mailbox_count_record(
            operator=by_name[name],
            mailbox_type=MailboxType.APP,
            as_of=campaign.closure_date,
            count=app,
            source_note="Démonstration : comptage saisi par l'instructeur",
            actor=agent,
        )

    def member(operator):
        membership = operator.memberships.select_related("user").order_by("pk").first()
        return membership.user if membership else _stand_in_user(operator)

    def advance(name, *, until):
        operator = by_name[name]
        actor = member(operator)
        claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=actor)
        if until == "draft":
            return claim
        kinds = (
            [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
            if operator.is_buyer
            else [DocumentKind.CONFORMITY_REPORT]
        )
        for kind in kinds:
            services.document_upload(claim=claim, actor=actor, kind=kind, uploaded_file=_pdf(f"{kind}.pdf"))
        if until == "withdrawn":
            return services.claim_withdraw(claim=claim, actor=actor, comment="Dossier déposé par erreur.")
        claim = services.claim_submit(claim=claim, actor=actor)
        if until == "submitted":
            return claim
        claim = services.claim_take(claim=claim, actor=agent)
        if until == "in_review":
            return claim
        if until == "changes_requested":
            return services.claim_request_changes(
                claim=claim, actor=agent, comment="Merci de joindre la facture signée par le prestataire."
            )
        if until == "rejected":
            return services.claim_reject(claim=claim, actor=agent, comment="Rapport de conformité non recevable.")
        claim = services.claim_approve(claim=claim, actor=agent, comment="Dossier complet.")
        if until == "approved":
            return claim
        return services.claim_mark_paid(claim=claim, actor=supervisor, reference=f"VIR-DEMO-{claim.pk:05d}")

    advance("alpha", until="paid")
    advance("beta", until="changes_requested")
    advance("gamma", until="approved")
    advance("delta", until="submitted")
    advance("epsilon", until="draft")
    advance("zeta", until="rejected")

    # Alpha's balance, in review.
    alpha = by_name["alpha"]
    balance = services.claim_create(
        operator=alpha,
        campaign=campaign,
        kind=ClaimKind.BALANCE,
        actor=member(alpha),
        technical_doc_url="https://docs.alpha-sante.example/api-lps",
    )
    services.document_upload(
        claim=balance, actor=member(alpha), kind=DocumentKind.CONFORMITY_COMMITMENT, uploaded_file=_pdf("annexe2.pdf")
    )
    services.claim_update_details(
        claim=balance,
        actor=member(alpha),
        deployment_date=campaign.closure_date - timedelta(days=10),
        technical_contact_name="Équipe intégration Alpha",
        technical_contact_email="integration@alpha-sante.example",
    )
    balance = services.claim_submit(claim=balance, actor=member(alpha))
    services.claim_take(claim=balance, actor=agent)

    # A lapsed draft and a withdrawn one live in the closed 2023 campaign (its deadlines passed long ago).
    closed = Campaign.objects.get(code="segur-mss-2023")
    gamma = by_name["gamma"]
    long_ago = timezone.now().replace(year=2023, month=9, day=1)
    late = services.claim_create(
        operator=gamma, campaign=closed, kind=ClaimKind.ADVANCE, actor=member(gamma), at=long_ago
    )
    services.claim_lapse(claim=late, at=long_ago + timedelta(days=60))
    delta = by_name["delta"]
    withdrawn = services.claim_create(
        operator=delta, campaign=closed, kind=ClaimKind.ADVANCE, actor=member(delta), at=long_ago
    )
    services.claim_withdraw(claim=withdrawn, actor=member(delta), comment="Opérateur pas prêt.", at=long_ago)
    stdout.write(f"{Claim.objects.count()} demandes de démonstration créées.")


def _stand_in_user(operator):
    """A portal user for a demo operator that has none (inactive login: it only signs demo history)."""
    username = f"demo-{operator.siren}"
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_active": True})
    if created:
        user.set_unusable_password()
        user.save()
    Membership.objects.get_or_create(user=user, defaults={"operator": operator})
    return user
