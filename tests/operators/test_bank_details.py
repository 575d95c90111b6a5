"""Bank-details changes (issue 12, item 3): an operator's user asks, an agent decides, payments follow
only validated details; every step logged and e-mailed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction

from common.exceptions import FileTooLarge, InvalidInput, NotAllowed, StateConflict, UnsupportedFileType
from demo.operators import demo_iban
from operators import selectors, services
from operators.enums import BankDetailsChangeState
from operators.models import BankDetailsChange, BankDetailsEvent, BankDetailsProof
from tests.factories import PNG, OperatorFactory, agent, operator_user, pdf, validator

pytestmark = pytest.mark.django_db

OLD_IBAN, NEW_IBAN = demo_iban("123456782"), demo_iban("987654324")


@pytest.fixture
def operator():
    return OperatorFactory(legal_name="Alpha Santé", iban=OLD_IBAN, bic="AGRIFRPP")


@pytest.fixture
def member(operator):
    return operator_user(operator, username="alpha-user")


def request_change(operator, member, **overrides):
    arguments = {"iban": NEW_IBAN, "bic": "BNPAFRPP", "proof": pdf("rib.pdf")}
    return services.bank_details_request(operator=operator, actor=member, **{**arguments, **overrides})


def test_a_pending_change_leaves_payments_on_the_previously_validated_details(operator, member):
    change = request_change(operator, member, iban="fr76 " + NEW_IBAN[4:].lower())
    assert (change.state, change.iban, change.bic) == (BankDetailsChangeState.PENDING, NEW_IBAN, "BNPAFRPP")
    assert (change.previous_iban, change.previous_bic) == (OLD_IBAN, "AGRIFRPP")
    assert change.proof.sha256 and change.proof.content_type == "application/pdf"
    operator.refresh_from_db()
    assert selectors.validated_bank_details(operator=operator) == (OLD_IBAN, "AGRIFRPP")
    assert selectors.payment_blockers(operator=operator) == []
    assert selectors.pending_bank_details_change(operator=operator) == change


def test_an_operator_without_validated_details_stays_blocked_while_its_request_waits():
    operator = OperatorFactory(legal_name="Sans RIB")
    request_change(operator, operator_user(operator))
    assert selectors.validated_bank_details(operator=operator) is None
    assert selectors.payment_blockers(operator=operator) == [
        "Sans RIB : coordonnées bancaires absentes, invalides ou non validées."
    ]


@pytest.mark.parametrize("decider", [agent, validator], ids=["instructeur", "valideur"])
def test_an_agent_validates_and_the_operator_is_paid_on_the_new_details(
    operator, member, decider, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        change = request_change(operator, member)
    assert sorted(mailoutbox[-1].to) == sorted(
        ["alpha-user@example.fr", operator.contact_email, "instruction@localhost"]
    )
    assert "attend la validation" in mailoutbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        change = services.bank_details_validate(change=change, actor=decider(), comment="RIB conforme.")
    assert change.state == BankDetailsChangeState.VALIDATED
    operator.refresh_from_db()
    assert selectors.validated_bank_details(operator=operator) == (NEW_IBAN, "BNPAFRPP")
    assert "instruction@localhost" not in mailoutbox[-1].to
    assert "validées" in mailoutbox[-1].subject.lower() or "validée" in mailoutbox[-1].subject.lower()
    events = list(change.events.order_by("seq").values_list("action", "from_state", "to_state"))
    assert events == [("request", "", "pending"), ("validate", "pending", "validated")]
    assert selectors.bank_details_audit_problem(change=change) is None


def test_an_agent_refuses_with_a_reason_and_the_operator_keeps_its_details(
    operator, member, django_capture_on_commit_callbacks, mailoutbox
):
    change = request_change(operator, member)
    with pytest.raises(InvalidInput) as error:
        services.bank_details_refuse(change=change, actor=agent(), reason="  ")
    assert error.value.message == services.REFUSAL_REASON_REQUIRED
    with django_capture_on_commit_callbacks(execute=True):
        change = services.bank_details_refuse(change=change, actor=validator(), reason="RIB d'un autre titulaire.")
    assert (change.state, change.decision_reason) == (BankDetailsChangeState.REFUSED, "RIB d'un autre titulaire.")
    operator.refresh_from_db()
    assert selectors.validated_bank_details(operator=operator) == (OLD_IBAN, "AGRIFRPP")
    assert "RIB d'un autre titulaire." in mailoutbox[-1].body
    event = change.events.get(action="refuse")
    assert (event.actor_label, event.comment) == ("valideur1", "RIB d'un autre titulaire.")
    with pytest.raises(StateConflict):
        services.bank_details_validate(change=change, actor=agent())


def test_only_agents_decide(operator, member):
    change = request_change(operator, member)
    for user in (member, operator_user(OperatorFactory())):
        with pytest.raises(NotAllowed):
            services.bank_details_validate(change=change, actor=user)
        with pytest.raises(NotAllowed):
            services.bank_details_refuse(change=change, actor=user, reason="Non.")
    assert services.bank_details_abilities(user=member, change=change) == {"validate": False, "refuse": False}
    assert services.bank_details_abilities(user=agent(), change=change) == {"validate": True, "refuse": True}


def test_only_the_operators_own_users_may_request(operator):
    for user in (operator_user(OperatorFactory()), agent(), validator()):
        with pytest.raises(NotAllowed):
            request_change(operator, user)
    assert BankDetailsChange.objects.count() == 0


def test_one_pending_request_at_a_time(operator, member):
    request_change(operator, member)
    with pytest.raises(StateConflict) as error:
        request_change(operator, member, iban=demo_iban("555123454"))
    assert error.value.message == services.BANK_DETAILS_PENDING
    assert BankDetailsChange.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "error_class"),
    [
        ({"iban": "FR7630006000011234567890180"}, "iban", InvalidInput),
        ({"bic": "NOPE"}, "bic", InvalidInput),
        ({"proof": None}, "proof", InvalidInput),
        ({"iban": OLD_IBAN, "bic": "AGRIFRPP"}, "iban", InvalidInput),
        ({"proof": SimpleUploadedFile("rib.pdf", b"MZ\x90\x00 not a pdf")}, "proof", UnsupportedFileType),
        ({"proof": SimpleUploadedFile("rib.pdf", b"")}, "proof", InvalidInput),
    ],
    ids=["bad-iban", "bad-bic", "no-proof", "unchanged", "not-a-pdf", "empty"],
)
def test_a_refused_request_writes_nothing(operator, member, settings, overrides, field, error_class):
    with pytest.raises(error_class) as error:
        request_change(operator, member, **overrides)
    assert field in error.value.errors
    assert (
        BankDetailsChange.objects.count() == BankDetailsProof.objects.count() == BankDetailsEvent.objects.count() == 0
    )
    root = settings.MEDIA_ROOT
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def test_a_too_large_proof_is_refused(operator, member, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    with pytest.raises(FileTooLarge):
        request_change(operator, member, proof=SimpleUploadedFile("rib.png", PNG))
    assert BankDetailsChange.objects.count() == 0


def test_the_history_is_append_only(operator, member):
    change = request_change(operator, member)
    event = change.events.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        BankDetailsEvent.objects.all().delete()


@pytest.mark.postgres
def test_postgresql_trigger_refuses_raw_updates_and_deletes_of_the_history(operator, member):
    event = request_change(operator, member).events.get()
    for sql in (
        "UPDATE operators_bankdetailsevent SET comment = 'x' WHERE id = %s",
        "DELETE FROM operators_bankdetailsevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
