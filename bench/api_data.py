"""Bulk loader of a realistic claims database for the API and admin benchmark (bench/api_bench.py).

Computes everything in Python, then writes the large tables with PostgreSQL COPY in one transaction:
operators (developers and buyers with their provider) with a countersigned contract, a valid
referencing number and two portal users each (memberships; the run issues their API tokens); agents; campaigns spread
over the last years; mailbox counts at each closure; claims in every state along the real
workflow paths, with their hash-chained events (ClaimEvent rows sealed by `common.audit.seal`, the
function every service appends through, so `manage.py verify_audit` passes: tests/bench checks it),
proofs and decision letters as document rows pointing at one small shared stored PDF, and one
payment per paid claim.

Deterministic (seeded): two loads of the same size give the same rows. Run through
`python -m bench.api_bench`; `python -m bench.api_data` loads only (DATABASE_URL must be set).
"""

import hashlib
import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from stdnum import luhn

from claims.enums import ClaimKind, ClaimState, DocumentKind
from claims.models import Claim, ClaimEvent, Document, Payment
from claims.workflow import TRANSITIONS
from common.audit import seal
from common.roles import actor_label
from funding.formula import compute_breakdown
from funding.models import Campaign, FundingSchedule, MailboxCount
from operators.enums import ContractStatus, OperatorKind, ReferencingStatus
from operators.models import ContractV2, Membership, Operator, Referencing

CAMPAIGN_PREFIX = "bench-"
PASSWORD = "bench-password"
SHARED_PDF_NAME = "proofs/bench/shared.pdf"
S = ClaimState

# Final states of the advance claims and of the balances (for operators whose advance was paid),
# weighted roughly as a campaign a few months past its deadlines looks.
ADVANCE_STATES = [
    (S.PAID, 46),
    (S.APPROVED, 6),
    (S.IN_REVIEW, 6),
    (S.SUBMITTED, 6),
    (S.CHANGES_REQUESTED, 5),
    (S.DRAFT, 6),
    (S.REJECTED, 3),
    (S.WITHDRAWN, 3),
    (S.LAPSED, 3),
]
BALANCE_STATES = [
    (S.PAID, 30),
    (S.APPROVED, 8),
    (S.IN_REVIEW, 10),
    (S.SUBMITTED, 10),
    (S.CHANGES_REQUESTED, 8),
    (S.DRAFT, 15),
    (S.REJECTED, 3),
    (S.WITHDRAWN, 3),
    (S.LAPSED, 3),
]
# Earlier attempts that ended (withdrawn or lapsed drafts) before the live claim of the same kind.
ENDED_ATTEMPTS = [(0, 45), (1, 35), (2, 15), (3, 5)]

FIRST_NAMES = ["Camille", "Dominique", "Claude", "Alix", "Sacha", "Morgane", "Yannick", "Maxime", "Lou", "Noa"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]


@dataclass
class Scale:
    operators: int = 320
    claims: int = 100_000
    seed: int = 2023


def is_loaded(scale):
    return (
        Campaign.objects.filter(code__startswith=CAMPAIGN_PREFIX).exists()
        and Operator.objects.filter(legal_name__startswith="Bench ").count() >= scale.operators
        and Claim.objects.count() >= scale.claims
    )


def shared_pdf():
    """The one stored PDF every benchmark document row points at (recreated when missing)."""
    path = Path(settings.MEDIA_ROOT) / SHARED_PDF_NAME
    if not path.exists():
        from fpdf import FPDF

        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text="Piece justificative (jeu de donnees du banc de mesure)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(pdf.output()))
    content = path.read_bytes()
    return len(content), hashlib.sha256(content).hexdigest()


def _siren(n):
    base = f"{30_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


def _weighted(rng, table):
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def _next_id(model):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")  # noqa: S608 (table name)
        return cursor.fetchone()[0] + 1


def _reset_sequence(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
        )


def _copy(model, instances):
    """COPY unsaved `instances` of `model` into its table, every concrete column (the primary key too
    when the first instance has one); returns how many were written. Built as model instances, the
    rows get each field's default and database preparation, so a column added to the model is
    written too, never silently left out."""
    instances = iter(instances)
    first = next(instances, None)
    if first is None:
        return 0
    fields = [field for field in model._meta.concrete_fields if not (field.primary_key and first.pk is None)]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    statement = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for instance in itertools.chain([first], instances):
            copy.write_row([field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields])
            count += 1
    return count


# --- Reference data (small: ORM bulk_create) ---------------------------------------------------


def _people(rng, scale, password_hash):
    """Operators with contract, referencing, two members each; agents. Returns lookup tables."""
    developers = max(1, scale.operators * 2 // 3)

    def operator(n, provider=None):
        return Operator(
            legal_name=f"Bench {'Acheteur' if provider else 'Développeur'} {n:03d}",
            siren=_siren(n),
            kind=OperatorKind.BUYER if provider else OperatorKind.DEVELOPER,
            provider=provider,
            iban="FR7630001007941234567890185",
            bic="BDFEFRPPCCT",
            contact_email=f"contact-{n:03d}@operateur-{n:03d}.example.fr",
        )

    operators = Operator.objects.bulk_create(operator(n) for n in range(developers))
    # Buyers buy the connector of a developer (the database checks that only buyers have a provider).
    operators += Operator.objects.bulk_create(
        operator(n, provider=operators[n % developers]) for n in range(developers, scale.operators)
    )
    ContractV2.objects.bulk_create(
        ContractV2(
            operator=op,
            status=ContractStatus.COUNTERSIGNED,
            signed_on=date(2023, 3, 1),
            countersigned_on=date(2023, 3, 15),
        )
        for op in operators
    )
    Referencing.objects.bulk_create(
        Referencing(
            operator=op, number=f"BENCH-REF-{n:05d}", status=ReferencingStatus.VALID, granted_on=date(2023, 5, 1)
        )
        for n, op in enumerate(operators)
    )
    users = User.objects.bulk_create(
        User(
            username=f"bench-op-{n:03d}-{m}",
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            email=f"user{m}@operateur-{n:03d}.example.fr",
            password=password_hash,
        )
        for n in range(scale.operators)
        for m in (1, 2)
    )
    Membership.objects.bulk_create(
        Membership(user=user, operator=operators[index // 2]) for index, user in enumerate(users)
    )
    agents = {}
    for group_name, count in (("instructeur", 6), ("valideur", 3)):
        group = Group.objects.get(name=group_name)
        agents[group_name] = User.objects.bulk_create(
            User(
                username=f"bench-{group_name}-{n}",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                email=f"{group_name}{n}@asp.example.fr",
                password=password_hash,
                is_staff=True,
            )
            for n in range(1, count + 1)
        )
        group.user_set.add(*agents[group_name])
    members = {op.pk: (users[2 * n], users[2 * n + 1]) for n, op in enumerate(operators)}
    return operators, members, agents


def _campaigns(count, today):
    schedules = list(FundingSchedule.objects.order_by("code"))
    # Weekly closures ending a month ago: the newest campaigns still have open filing deadlines.
    first_closure = today - timedelta(days=30 + 7 * (count - 1))
    return Campaign.objects.bulk_create(
        Campaign(
            code=f"{CAMPAIGN_PREFIX}{n:03d}",
            label=f"Campagne de mesure n° {n:03d}",
            schedule=schedules[n % len(schedules)],
            developer_schedule=schedules[n % len(schedules)],
            opening_date=first_closure + timedelta(days=7 * n - 180),
            closure_date=first_closure + timedelta(days=7 * n),
            advance_deadline=first_closure + timedelta(days=7 * n + 84),
            balance_deadline=first_closure + timedelta(days=7 * n + 114),
        )
        for n in range(count)
    )


# --- Claims, events, documents, payments (large: COPY) ----------------------------------------


def _check_transition(action, before, after):
    """The bench walks the declared claim workflow (claims.workflow), it does not restate it: a path
    the table no longer allows stops the load instead of writing a history the product cannot make."""
    transition = TRANSITIONS[action]
    if before not in transition.sources or after != transition.target:
        raise ValueError(f"the claim workflow has no {action!r} from {before!r} to {after!r}")


class _Builder:
    """Builds the rows of one claim along its real workflow path, event by event."""

    def __init__(self, *, rng, pdf_size, pdf_sha, cutoff):
        self.rng = rng
        self.pdf_size = pdf_size
        self.pdf_sha = pdf_sha
        self.cutoff = cutoff
        self.claim_id = self.document_id = None  # the next free ids, set by load()
        self.breakdowns = {}
        self.claims, self.events, self.documents, self.payments, self.counts = [], [], [], [], []

    def claim(self, *, operator, member, campaign, kind, state, counts, agents, advance_amount=None):
        rng = self.rng
        claim_id = self.claim_id
        self.claim_id += 1
        instructor = rng.choice(agents["instructeur"])
        validator = rng.choice(agents["valideur"])
        start = datetime.combine(campaign.closure_date, time(9), tzinfo=UTC) + timedelta(
            days=rng.randint(1, 40), minutes=rng.randint(0, 600)
        )
        clock = [start]
        events = []
        head = [""]
        versions = {}
        payment = None

        def tick(hours_max=72):
            clock[0] = min(clock[0] + timedelta(minutes=rng.randint(5, hours_max * 60)), self.cutoff)
            return clock[0]

        def event(action, before, after, actor, comment=""):
            if action in TRANSITIONS:
                _check_transition(action, before, after)
            ev = ClaimEvent(
                claim_id=claim_id,
                seq=len(events) + 1,
                at=tick(),
                actor=actor,
                actor_label=actor_label(actor),
                action=action,
                from_state=before,
                to_state=after,
                comment=comment,
            )
            head[0] = seal(ev, after=head[0])
            events.append(ev)
            return ev

        def document(doc_kind, actor, state, title=None):
            version = versions[doc_kind] = versions.get(doc_kind, 0) + 1
            if title:
                name = f"{title.lower().replace(' ', '-').replace(chr(39), '-')}-{claim_id}-v{version}.pdf"
                comment = f"{title} : lettre générée ({name}, SHA-256 {self.pdf_sha[:12]}…)"
                ev = event("letter", state, state, actor, comment)
            else:
                name = f"{doc_kind.replace('_', '-')}-v{version}.pdf"
                label = DocumentKind(doc_kind).label
                comment = f"Pièce déposée : {label} v{version} — {name} (SHA-256 {self.pdf_sha[:12]}…)"
                ev = event("document", state, state, actor, comment)
            self.documents.append(
                Document(
                    id=self.document_id,
                    kind=doc_kind,
                    version=version,
                    file=SHARED_PDF_NAME,
                    original_name=name,
                    content_type="application/pdf",
                    size=self.pdf_size,
                    sha256=self.pdf_sha,
                    uploaded_at=ev.at,
                    claim_id=claim_id,
                    operator_id=operator.pk,
                    uploaded_by_id=actor.pk,
                )
            )
            self.document_id += 1

        if kind == ClaimKind.ADVANCE:
            proofs = (
                [DocumentKind.PROVIDER_CONFORMITY_REPORT, DocumentKind.INVOICE]
                if operator.kind == OperatorKind.BUYER
                else [DocumentKind.CONFORMITY_REPORT]
            )
        else:
            proofs = [DocumentKind.CONFORMITY_COMMITMENT]

        event("create", S.DRAFT, S.DRAFT, member, "Demande créée.")
        fields = {"submitted_at": None, "decided_at": None, "assigned_to": None, "approved_by": None}
        fields |= {"correction_message": "", "correction_due": None, "decision_reason": ""}
        if state == S.LAPSED:
            event("lapse", S.DRAFT, S.LAPSED, None, "Date limite de dépôt dépassée.")
        elif state == S.WITHDRAWN and rng.random() < 0.5:
            event("withdraw", S.DRAFT, S.WITHDRAWN, member, "Demande ouverte par erreur.")
        elif state != S.DRAFT or rng.random() < 0.6:
            for proof in proofs:
                document(proof, member, S.DRAFT)
        if state not in (S.DRAFT, S.LAPSED) and events[-1].to_state != S.WITHDRAWN:
            fields["submitted_at"] = event("submit", S.DRAFT, S.SUBMITTED, member).at
            current = S.SUBMITTED
            if state == S.WITHDRAWN:
                event("withdraw", current, S.WITHDRAWN, member, "Nous déposerons une demande corrigée.")
            elif state != S.SUBMITTED:
                fields["assigned_to"] = instructor
                event("take", S.SUBMITTED, S.IN_REVIEW, instructor)
                if state == S.CHANGES_REQUESTED or rng.random() < 0.25:
                    message = "Le rapport de conformité transmis est illisible : merci de le déposer à nouveau."
                    due = clock[0].date() + timedelta(days=settings.CORRECTION_DUE_DAYS)
                    event("request_changes", S.IN_REVIEW, S.CHANGES_REQUESTED, instructor, message)
                    fields["correction_message"], fields["correction_due"] = message, due
                    if state != S.CHANGES_REQUESTED:
                        document(proofs[0], member, S.CHANGES_REQUESTED)
                        fields["submitted_at"] = event(
                            "resubmit", S.CHANGES_REQUESTED, S.SUBMITTED, member, "Pièce déposée à nouveau."
                        ).at
                        event("take", S.SUBMITTED, S.IN_REVIEW, instructor)
                if state == S.REJECTED:
                    reason = "Le connecteur n'est pas déployé à la date de clôture."
                    fields["decided_at"] = event("reject", S.IN_REVIEW, S.REJECTED, instructor, reason).at
                    fields["decision_reason"] = reason
                    document(DocumentKind.DECISION_LETTER, instructor, S.REJECTED, title="Décision de rejet")
                elif state in (S.APPROVED, S.PAID):
                    fields["approved_by"] = instructor
                    fields["decided_at"] = event("approve", S.IN_REVIEW, S.APPROVED, instructor).at
                    document(DocumentKind.DECISION_LETTER, instructor, S.APPROVED, title="Décision d'approbation")
                    if state == S.PAID:
                        reference = f"VIR-BENCH-{claim_id}"
                        paid = event("mark_paid", S.APPROVED, S.PAID, validator, f"Virement {reference}")
                        payment = (reference, paid.at, validator.pk)

        frozen = None
        if fields["submitted_at"] is not None:
            key = (campaign.pk, operator.pk)
            if key not in self.breakdowns:  # the advance and the balance of a pair share their counts
                self.breakdowns[key] = compute_breakdown(schedule=campaign.schedule, counts=counts)
            breakdown = self.breakdowns[key]
            frozen = breakdown.as_dict()
            frozen["counts_as_of"] = campaign.closure_date.isoformat()
            frozen["count_sources"] = {
                t: {"count": c, "source": "agent_entry", "label": "Saisie agent", "detail": "jeu de mesure"}
                for t, c in counts.items()
            }
            if kind == ClaimKind.ADVANCE:
                amount = breakdown.advance
            else:
                frozen["advance_paid"] = f"{advance_amount:.2f}"
                amount = breakdown.total - advance_amount
            frozen["amount"] = f"{amount:.2f}"
        self.claims.append(
            Claim(
                id=claim_id,
                kind=kind,
                state=state,
                counts=counts if frozen else None,
                schedule_code=campaign.schedule.code if frozen else "",
                breakdown=frozen,
                funded_total=breakdown.total if frozen else None,
                amount=amount if frozen else None,
                technical_doc_url="https://docs.example.fr/connecteur" if kind == ClaimKind.BALANCE else "",
                correction_message=fields["correction_message"],
                correction_due=fields["correction_due"],
                decision_reason=fields["decision_reason"],
                created_at=start,
                updated_at=events[-1].at,
                submitted_at=fields["submitted_at"],
                decided_at=fields["decided_at"],
                audit_head=events[-1].hash,
                approved_by=fields["approved_by"],
                assigned_to=fields["assigned_to"],
                campaign_id=campaign.pk,
                operator_id=operator.pk,
            )
        )
        self.events.extend(events)
        if payment is not None:
            reference, at, recorded_by = payment
            self.payments.append(
                Payment(
                    amount=amount,
                    amount_excl_vat=amount,  # the bench's operators are not liable to VAT
                    paid_on=at.date(),
                    reference=reference,
                    recorded_at=at,
                    claim_id=claim_id,
                    recorded_by_id=recorded_by,
                )
            )
        return amount if state == S.PAID else None


def load(scale=None, *, log=print):
    """Load the benchmark data set into the (migrated, PostgreSQL) database; returns a summary dict."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the benchmark data set is loaded with COPY: PostgreSQL only")
    scale = scale or Scale()
    rng = random.Random(scale.seed)  # synthetic data, not security
    now = datetime.now(UTC)
    # Nothing newer than 8 days: the notification outbox only looks at the last 7 days.
    cutoff = now - timedelta(days=8)
    pdf_size, pdf_sha = shared_pdf()
    # Each per-pair slot holds an advance, a balance for ~half of them, and ~0.8 ended attempts.
    per_pair = 2.3
    campaign_count = max(1, -(-scale.claims // int(scale.operators * per_pair)))
    summary = {}
    with transaction.atomic():
        password_hash = make_password(PASSWORD)
        operators, members, agents = _people(rng, scale, password_hash)
        campaigns = _campaigns(campaign_count, cutoff.date())
        schedules = FundingSchedule.objects.in_bulk()
        for campaign in campaigns:
            campaign.schedule = schedules[campaign.schedule_id]
        builder = _Builder(rng=rng, pdf_size=pdf_size, pdf_sha=pdf_sha, cutoff=cutoff)
        builder.claim_id = _next_id(Claim)
        builder.document_id = _next_id(Document)
        sizes = {op.pk: (rng.randint(0, 300), rng.randint(20, 4000), rng.randint(100, 30000)) for op in operators}
        counts_rows = []
        for index, campaign in enumerate(campaigns):
            growth = 1 + index / max(1, len(campaigns))
            for operator in operators:
                app, org, per = (int(value * growth) for value in sizes[operator.pk])
                counts = {"APP": app, "ORG": org, "PER": per}
                counts_rows += [
                    MailboxCount(
                        operator_id=operator.pk,
                        mailbox_type=mailbox_type,
                        as_of=campaign.closure_date,
                        count=count,
                        source="agent_entry",
                        source_note="jeu de mesure",
                        created_at=now,
                    )
                    for mailbox_type, count in counts.items()
                ]
                member = members[operator.pk][rng.random() < 0.3]
                advance = None
                for kind, table in ((ClaimKind.ADVANCE, ADVANCE_STATES), (ClaimKind.BALANCE, BALANCE_STATES)):
                    if kind == ClaimKind.BALANCE and advance is None:
                        break  # a balance needs the advance paid
                    for _ in range(_weighted(rng, ENDED_ATTEMPTS)):
                        ended = S.WITHDRAWN if rng.random() < 0.6 else S.LAPSED
                        builder.claim(
                            operator=operator,
                            member=member,
                            campaign=campaign,
                            kind=kind,
                            state=ended,
                            counts=counts,
                            agents=agents,
                            advance_amount=advance,
                        )
                    if kind == ClaimKind.ADVANCE:
                        advance = builder.claim(
                            operator=operator,
                            member=member,
                            campaign=campaign,
                            kind=kind,
                            state=_weighted(rng, table),
                            counts=counts,
                            agents=agents,
                        )
                    else:
                        builder.claim(
                            operator=operator,
                            member=member,
                            campaign=campaign,
                            kind=kind,
                            state=_weighted(rng, table),
                            counts=counts,
                            agents=agents,
                            advance_amount=advance,
                        )
            if len(builder.claims) >= scale.claims and index + 1 >= 2:
                campaigns_used = index + 1
                break
        else:
            campaigns_used = len(campaigns)
        Campaign.objects.filter(pk__in=[c.pk for c in campaigns[campaigns_used:]]).delete()
        log(f"  computed {len(builder.claims)} claims, {len(builder.events)} events; writing with COPY…")
        summary["claims"] = _copy(Claim, builder.claims)
        summary["events"] = _copy(ClaimEvent, builder.events)
        summary["documents"] = _copy(Document, builder.documents)
        summary["payments"] = _copy(Payment, builder.payments)
        last_closure = campaigns[campaigns_used - 1].closure_date
        summary["mailbox_counts"] = _copy(MailboxCount, (row for row in counts_rows if row.as_of <= last_closure))
        for model in (Claim, ClaimEvent, Document, Payment, MailboxCount):
            _reset_sequence(model)
    with connection.cursor() as cursor:
        for table in ("claims_claim", "claims_claimevent", "claims_document", "claims_payment", "funding_mailboxcount"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    summary |= {"operators": len(operators), "users": 2 * len(operators), "campaigns": campaigns_used}
    return summary


if __name__ == "__main__":
    import os
    import time as clock

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    started = clock.monotonic()
    print(load(), f"{clock.monotonic() - started:.1f} s")
