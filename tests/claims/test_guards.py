"""Every refusal path of the claim workflow, each saying in French what is missing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from claims import services
from claims.enums import ClaimKind, ClaimState, DocumentKind
from claims.models import Claim, ClaimEvent
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from funding.calendar import paris_today
from funding.enums import CountSource
from funding.models import Campaign, MailboxCount
from operators.enums import ContractStatus, OperatorKind, ReferencingStatus
from tests.factories import (
    ContractFactory,
    OperatorFactory,
    ReferencingFactory,
    agent,
    approved,
    claim_in_state,
    operator_user,
    paid,
    pdf,
    ready_advance,
    ready_balance,
    record_counts,
    segur_campaign,
    validator,
)

pytestmark = pytest.mark.django_db


def refused_submit(claim, user):
    events_before = ClaimEvent.objects.count()
    with pytest.raises(GuardFailed) as error:
        services.claim_submit(claim=claim, actor=user)
    claim.refresh_from_db()
    assert claim.state == ClaimState.DRAFT
    assert claim.amount is None
    assert ClaimEvent.objects.count() == events_before
    return error.value


def test_advance_refused_without_countersigned_contract():
    operator = OperatorFactory()
    ReferencingFactory(operator=operator)
    ContractFactory(operator=operator, status=ContractStatus.SIGNED_BY_OPERATOR)
    claim, user = ready_advance(operator=operator)
    error = refused_submit(claim, user)
    [message] = error.errors["guards"]
    assert message.startswith("Le contrat opérateur MSSanté v2 signé par l'opérateur le ")
    assert message.endswith("attend la contre-signature de l'ANS.")


def test_advance_refused_with_a_terminated_contract():
    operator = OperatorFactory()
    ReferencingFactory(operator=operator)
    ContractFactory(operator=operator, status=ContractStatus.TERMINATED, terminated_on="2023-06-01")
    claim, user = ready_advance(operator=operator)
    assert "contrat" in refused_submit(claim, user).message


def test_advance_refused_without_valid_referencing():
    operator = OperatorFactory()
    ContractFactory(operator=operator)
    ReferencingFactory(operator=operator, status=ReferencingStatus.SUSPENDED)
    claim, user = ready_advance(operator=operator)
    assert refused_submit(claim, user).errors["guards"] == [
        f"L'opérateur n'a pas de numéro de référencement ANS valide au {paris_today():%d/%m/%Y}."
    ]


def test_developer_advance_refused_without_conformity_report():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign()
    user = operator_user(operator)
    record_counts(operator, campaign)
    claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user)
    assert refused_submit(claim, user).errors["guards"] == ["Pièce manquante : Rapport de conformité."]


@pytest.mark.parametrize(
    ("uploaded", "missing"),
    [
        ([], ["Rapport de conformité de l'opérateur prestataire", "Facture d'achat du connecteur"]),
        ([DocumentKind.INVOICE], ["Rapport de conformité de l'opérateur prestataire"]),
        ([DocumentKind.PROVIDER_CONFORMITY_REPORT], ["Facture d'achat du connecteur"]),
        ([DocumentKind.CONFORMITY_REPORT], ["Rapport de conformité de l'opérateur prestataire", "Facture"]),
    ],
)
def test_buyer_advance_needs_provider_report_and_invoice(uploaded, missing):
    provider = OperatorFactory(eligible=True)
    operator = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=provider)
    campaign = segur_campaign()
    user = operator_user(operator)
    record_counts(operator, campaign)
    claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user)
    for kind in uploaded:
        services.document_upload(claim=claim, actor=user, kind=kind, uploaded_file=pdf())
    messages = refused_submit(claim, user).errors["guards"]
    assert len(messages) == len(missing)
    for message, expected in zip(messages, missing, strict=True):
        assert expected in message


def test_advance_refused_when_no_count_is_established_on_the_filing_day():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign()
    user = operator_user(operator)
    claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user)
    services.document_upload(claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf())
    [message] = refused_submit(claim, user).errors["guards"]
    assert "le jour du dépôt" in message and "pour : APP, ORG, PER." in message


def test_a_type_without_a_figure_blocks_the_filing_instead_of_counting_zero():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign()
    claim, user = ready_advance(operator=operator, campaign=campaign)
    MailboxCount.objects.filter(operator=operator, mailbox_type__in=["APP", "ORG"]).delete()
    [message] = refused_submit(claim, user).errors["guards"]
    assert "pour : APP, ORG." in message
    # An explicit zero establishes the type.
    for kind in ("APP", "ORG"):
        MailboxCount.objects.create(operator=operator, mailbox_type=kind, as_of=paris_today(), count=0, source_note="0")
    claim = services.claim_submit(claim=claim, actor=user)
    assert claim.counts == {"APP": 0, "ORG": 0, "PER": 1000}


def test_an_advance_is_filed_before_the_closure_on_the_counts_of_the_filing_day():
    today = paris_today()
    campaign = segur_campaign("ahead", closure=today + timedelta(days=60), advance_in=90, balance_in=120)
    operator = OperatorFactory(eligible=True)
    user = operator_user(operator)
    for kind, count in (("APP", 2), ("ORG", 30), ("PER", 400)):
        MailboxCount.objects.create(
            operator=operator, mailbox_type=kind, as_of=today - timedelta(days=3), count=count, source_note="ANS"
        )
    claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user)
    services.document_upload(claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf())
    claim = services.claim_submit(claim=claim, actor=user)
    # 2×58.33 + 30×20.83 + 400×5 + 6666.67 = 9408.23; 30 % = 2822.469 → 2822.47
    assert claim.funded_total == Decimal("9408.23")
    assert claim.amount == Decimal("2822.47")
    assert claim.breakdown["counts_as_of"] == today.isoformat()
    assert claim.breakdown["count_sources"]["PER"]["as_of"] == (today - timedelta(days=3)).isoformat()


def test_a_figure_older_than_the_campaigns_maximum_age_does_not_count():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign()
    claim, user = ready_advance(operator=operator, campaign=campaign)
    old = paris_today() - timedelta(days=campaign.count_max_age_days + 1)
    MailboxCount.objects.filter(operator=operator, mailbox_type="APP").update(as_of=old)
    assert "pour : APP." in refused_submit(claim, user).errors["guards"][0]
    Campaign.objects.filter(pk=campaign.pk).update(count_max_age_days=campaign.count_max_age_days + 1)
    assert services.claim_submit(claim=claim, actor=user).state == ClaimState.SUBMITTED


def test_an_advance_cannot_be_opened_before_the_campaign_opens():
    today = paris_today()
    campaign = segur_campaign("later", closure=today + timedelta(days=200), advance_in=230, balance_in=260)
    Campaign.objects.filter(pk=campaign.pk).update(opening_date=today + timedelta(days=1))
    campaign.refresh_from_db()
    operator = OperatorFactory(eligible=True)
    with pytest.raises(GuardFailed) as error:
        services.claim_create(
            operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=operator_user(operator)
        )
    assert "s'ouvrent le" in error.value.message


def test_an_agents_entry_prevails_over_the_count_file_and_says_so():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign()
    claim, user = ready_advance(operator=operator, campaign=campaign)  # count file rows at closure: PER 1000
    MailboxCount.objects.filter(operator=operator).update(source=CountSource.COUNT_FILE)
    MailboxCount.objects.create(
        operator=operator,
        mailbox_type="PER",
        as_of=campaign.closure_date,
        count=1,
        source=CountSource.AGENT_ENTRY,
        source_note="Contrats clients vérifiés : une seule BAL active",
    )
    claim = services.claim_submit(claim=claim, actor=user)
    per = claim.breakdown["count_sources"]["PER"]
    assert claim.counts["PER"] == 1
    assert per["source"] == CountSource.AGENT_ENTRY
    assert per["detail"] == "Contrats clients vérifiés : une seule BAL active"
    assert per["overridden"] == [
        {"count": 1000, "source": "count_file", "label": "Fichier de comptage par opérateur",
         "as_of": campaign.closure_date.isoformat()}
    ]  # fmt: skip


def test_advance_refused_after_the_deadline():
    claim, user = ready_advance()
    late = timezone.now() + timedelta(days=40)
    with pytest.raises(GuardFailed) as error:
        services.claim_submit(claim=claim, actor=user, at=late)
    assert "date limite de dépôt" in error.value.message


def test_claim_cannot_be_opened_after_the_deadline():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign(advance_in=-1)
    with pytest.raises(GuardFailed):
        services.claim_create(
            operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=operator_user(operator)
        )


def test_only_one_live_advance_per_operator_and_campaign():
    claim, user = ready_advance()
    with pytest.raises(StateConflict):
        services.claim_create(operator=claim.operator, campaign=claim.campaign, kind=ClaimKind.ADVANCE, actor=user)
    assert Claim.objects.filter(operator=claim.operator).count() == 1


def test_database_refuses_a_second_live_claim_of_the_same_kind():
    claim, _ = ready_advance()
    with pytest.raises(IntegrityError):
        Claim.objects.create(operator=claim.operator, campaign=claim.campaign, kind=ClaimKind.ADVANCE)


def balance_draft(url="https://docs.example.fr", commitment=True, advance_paid=True, declared=True):
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    claim = paid(claim) if advance_paid else approved(claim)
    balance = ready_balance(claim, user, commitment=commitment, declared=declared)
    services.claim_update_details(claim=balance, actor=user, technical_doc_url=url)
    return balance, user


def test_a_balance_cannot_be_opened_before_the_advance_is_approved():
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    with pytest.raises(GuardFailed) as error:
        services.claim_create(operator=claim.operator, campaign=claim.campaign, kind=ClaimKind.BALANCE, actor=user)
    assert "une fois l'avance approuvée" in error.value.message


def test_a_balance_is_refused_before_the_closure():
    today = paris_today()
    campaign = segur_campaign("ahead", closure=today + timedelta(days=60), advance_in=90, balance_in=120)
    advance, user = ready_advance(campaign=campaign)
    for kind in ("APP", "ORG", "PER"):
        MailboxCount.objects.create(
            operator=advance.operator, mailbox_type=kind, as_of=today, count=10, source_note="ANS"
        )
    advance = approved(services.claim_submit(claim=advance, actor=user))
    balance = ready_balance(advance, user)
    messages = refused_submit(balance, user).errors["guards"]
    assert any("après la date de clôture" in message for message in messages)


def test_a_balance_is_filed_while_the_advance_is_approved_but_unpaid_and_paid_only_after_it():
    balance, user = balance_draft(advance_paid=False)
    balance = services.claim_submit(claim=balance, actor=user)
    advance = Claim.objects.get(operator=balance.operator, kind=ClaimKind.ADVANCE)
    assert balance.breakdown["advance_granted"] == f"{advance.amount:.2f}"
    assert balance.amount == balance.funded_total - advance.amount
    balance = approved(balance, instructor=agent("autre"))
    with pytest.raises(GuardFailed) as error:
        services.claim_mark_paid(claim=balance, actor=validator(), reference="VIR-S")
    assert error.value.errors["guards"] == ["Le solde ne peut être payé qu'après le paiement de l'avance."]
    services.claim_mark_paid(claim=advance, actor=validator(), reference="VIR-A")
    assert services.claim_mark_paid(claim=balance, actor=validator(), reference="VIR-S").state == ClaimState.PAID


def test_balance_refused_without_signed_conformity_commitment():
    balance, user = balance_draft(commitment=False)
    assert refused_submit(balance, user).errors["guards"] == [
        "Pièce manquante : Engagement de conformité du parc (Annexe 2)."
    ]


def test_balance_refused_without_deployment_date_and_technical_contact():
    balance, user = balance_draft(declared=False)
    assert refused_submit(balance, user).errors["guards"] == [
        "Indiquez la date de déploiement du connecteur.",
        "Indiquez le contact technique (nom et e-mail) pour les éditeurs.",
    ]


def test_balance_refused_when_deployed_after_the_closure():
    balance, user = balance_draft()
    late = balance.campaign.closure_date + timedelta(days=1)
    services.claim_update_details(claim=balance, actor=user, deployment_date=late)
    [message] = refused_submit(balance, user).errors["guards"]
    assert message.startswith("Le connecteur doit être déployé au plus tard le")


def test_buyer_balance_refused_when_the_invoice_installation_is_after_the_closure():
    provider = OperatorFactory(eligible=True)
    buyer = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=provider)
    advance, user = ready_advance(operator=buyer)
    advance = paid(services.claim_submit(claim=advance, actor=user))
    balance = ready_balance(advance, user)
    services.claim_update_details(
        claim=balance, actor=user, installation_date=balance.campaign.closure_date + timedelta(days=2)
    )
    [message] = refused_submit(balance, user).errors["guards"]
    assert message.startswith("La facture doit attester une installation au plus tard le")


def test_buyer_advance_refused_when_its_provider_is_not_referenced():
    provider = OperatorFactory()
    ContractFactory(operator=provider)
    buyer = OperatorFactory(eligible=True, kind=OperatorKind.BUYER, provider=provider)
    claim, user = ready_advance(operator=buyer)
    [message] = refused_submit(claim, user).errors["guards"]
    assert f"n'a pas de numéro de référencement ANS valide au {paris_today():%d/%m/%Y}" in message
    assert "opérateur développeur référencé Ségur" in message
    ReferencingFactory(operator=provider)
    assert services.claim_submit(claim=claim, actor=user).state == ClaimState.SUBMITTED


@pytest.mark.parametrize("url", ["", "http://docs.example.fr", "ftp://docs.example.fr", "https://"])
def test_balance_refused_without_an_https_documentation_link(url):
    balance, user = balance_draft(url=url)
    assert "https" in refused_submit(balance, user).errors["guards"][0]


def test_balance_refused_after_its_deadline():
    balance, user = balance_draft()
    with pytest.raises(GuardFailed):
        services.claim_submit(claim=balance, actor=user, at=timezone.now() + timedelta(days=61))


def test_another_operators_user_cannot_submit():
    claim, _ = ready_advance()
    stranger = operator_user(OperatorFactory(eligible=True))
    with pytest.raises(NotAllowed):
        services.claim_submit(claim=claim, actor=stranger)


def test_agent_cannot_act_as_the_operator():
    claim, _ = ready_advance()
    with pytest.raises(NotAllowed):
        services.claim_submit(claim=claim, actor=agent())


def test_operator_cannot_approve_its_own_claim():
    claim, user = claim_in_state("in_review")
    with pytest.raises(NotAllowed):
        services.claim_approve(claim=claim, actor=user)


def test_instructor_cannot_mark_paid_and_validator_cannot_approve():
    claim, _ = claim_in_state("approved")
    with pytest.raises(NotAllowed):
        services.claim_mark_paid(claim=claim, actor=agent("autre-instructeur"), reference="VIR")
    claim, _ = claim_in_state("in_review", operator=OperatorFactory(eligible=True))
    with pytest.raises(NotAllowed):
        services.claim_approve(claim=claim, actor=validator())


def test_four_eyes_the_approver_cannot_pay():
    claim, _user = claim_in_state("in_review")
    boss = agent("chef", group="valideur")
    boss.groups.add(*agent("x").groups.all())  # holds both roles
    claim = services.claim_approve(claim=claim, actor=boss)
    with pytest.raises(GuardFailed) as error:
        services.claim_mark_paid(claim=claim, actor=boss, reference="VIR-1")
    assert "quatre yeux" in error.value.message
    assert Claim.objects.get(pk=claim.pk).payment is None


def test_claim_is_paid_once():
    claim, _ = claim_in_state("paid")
    with pytest.raises(StateConflict):
        services.claim_mark_paid(claim=claim, actor=validator("autre"), reference="VIR-2")


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("submit", "submitted"),
        ("take", "draft"),
        ("approve", "submitted"),
        ("withdraw", "in_review"),
        ("withdraw", "approved"),
        ("resubmit", "in_review"),
        ("reopen", "approved"),
    ],
)
def test_transition_from_a_wrong_state_is_a_conflict(action, state):
    claim, user = claim_in_state(state)
    actors = {"submit": user, "withdraw": user, "resubmit": user, "take": agent(), "approve": agent()}
    call = {
        "submit": lambda: services.claim_submit(claim=claim, actor=user),
        "take": lambda: services.claim_take(claim=claim, actor=actors["take"]),
        "approve": lambda: services.claim_approve(claim=claim, actor=actors["approve"]),
        "withdraw": lambda: services.claim_withdraw(claim=claim, actor=user),
        "resubmit": lambda: services.claim_resubmit(claim=claim, actor=user),
        "reopen": lambda: services.claim_reopen(claim=claim, actor=validator(), comment="x"),
    }[action]
    with pytest.raises(StateConflict):
        call()
    assert Claim.objects.get(pk=claim.pk).state == state


@pytest.mark.parametrize("action", ["reject", "request_changes"])
def test_reject_and_request_changes_need_a_comment(action):
    claim, _ = claim_in_state("in_review")
    service = getattr(services, f"claim_{action}")
    with pytest.raises(InvalidInput) as error:
        service(claim=claim, actor=agent(), comment="   ")
    assert "comment" in error.value.errors
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.IN_REVIEW


def test_reopen_needs_a_reason():
    claim, _ = claim_in_state("rejected")
    with pytest.raises(InvalidInput):
        services.claim_reopen(claim=claim, actor=validator(), comment="")


def test_payments_never_exceed_the_funded_total(monkeypatch):
    claim, _ = claim_in_state("approved")
    Claim.objects.filter(pk=claim.pk).update(amount=claim.funded_total + 1)
    with pytest.raises(GuardFailed) as error:
        services.claim_mark_paid(claim=claim, actor=validator(), reference="VIR")
    assert "dépasserait le financement total" in error.value.message


def test_a_claim_without_funded_total_is_refused_payment_not_crashed():
    claim, _ = claim_in_state("approved")
    Claim.objects.filter(pk=claim.pk).update(funded_total=None)
    with pytest.raises(GuardFailed) as error:
        services.claim_mark_paid(claim=claim, actor=validator(), reference="VIR")
    assert "pas de montant calculé" in error.value.message
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED


def test_abilities_show_only_what_the_user_may_do_now():
    claim, user = ready_advance()
    operator_view = services.claim_abilities(user=user, claim=claim)
    assert operator_view["submit"] and operator_view["withdraw"] and operator_view["upload"]
    assert not operator_view["approve"] and not operator_view["take"]
    stranger = operator_user(OperatorFactory())
    assert not any(services.claim_abilities(user=stranger, claim=claim).values())
    claim = services.claim_submit(claim=claim, actor=user)
    instructor_view = services.claim_abilities(user=agent(), claim=claim)
    assert [name for name, ok in instructor_view.items() if ok] == ["take"]


def test_a_staff_account_with_a_membership_still_cannot_act_as_the_operator():
    claim, user = ready_advance()
    user.is_staff = True
    user.save()
    with pytest.raises(NotAllowed):
        services.claim_submit(claim=claim, actor=user)
