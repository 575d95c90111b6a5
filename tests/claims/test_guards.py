"""Every refusal path of the claim workflow, each saying in French what is missing."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from claims import services
from claims.enums import ClaimKind, ClaimState, DocumentKind
from claims.models import Claim, ClaimEvent
from common.exceptions import GuardFailed, InvalidInput, NotAllowed, StateConflict
from operators.enums import ContractStatus, OperatorKind, ReferencingStatus
from tests.factories import (
    ContractFactory,
    OperatorFactory,
    ReferencingFactory,
    agent,
    claim_in_state,
    operator_user,
    paid,
    pdf,
    ready_advance,
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
    assert error.errors["guards"] == ["Le contrat opérateur MSSanté v2 contresigné par l'ANS est manquant."]


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
        "L'opérateur n'a pas de numéro de référencement ANS valide."
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


def test_advance_refused_when_counts_at_closure_are_not_established():
    operator = OperatorFactory(eligible=True)
    campaign = segur_campaign()
    user = operator_user(operator)
    claim = services.claim_create(operator=operator, campaign=campaign, kind=ClaimKind.ADVANCE, actor=user)
    services.document_upload(claim=claim, actor=user, kind=DocumentKind.CONFORMITY_REPORT, uploaded_file=pdf())
    assert "date de clôture" in refused_submit(claim, user).errors["guards"][0]


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


def balance_draft(url="https://docs.example.fr", commitment=True, advance_paid=True):
    claim, user = ready_advance()
    claim = services.claim_submit(claim=claim, actor=user)
    if advance_paid:
        paid(claim)
    balance = services.claim_create(
        operator=claim.operator, campaign=claim.campaign, kind=ClaimKind.BALANCE, actor=user, technical_doc_url=url
    )
    if commitment:
        services.document_upload(
            claim=balance, actor=user, kind=DocumentKind.CONFORMITY_COMMITMENT, uploaded_file=pdf()
        )
    return balance, user


def test_balance_refused_before_the_advance_is_paid():
    balance, user = balance_draft(advance_paid=False)
    assert refused_submit(balance, user).errors["guards"] == [
        "L'avance doit avoir été payée avant de demander le solde."
    ]


def test_balance_refused_without_signed_conformity_commitment():
    balance, user = balance_draft(commitment=False)
    assert refused_submit(balance, user).errors["guards"] == [
        "Pièce manquante : Engagement de conformité du parc (Annexe 2)."
    ]


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
    assert not hasattr(Claim.objects.get(pk=claim.pk), "payment")


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
