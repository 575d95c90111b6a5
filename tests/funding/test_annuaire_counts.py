"""Counts per operator from the Annuaire snapshot, the other sources, and the claims that freeze them."""

from datetime import date, timedelta

import pytest

from claims import services as claim_services
from common.exceptions import InvalidInput, NotAllowed, UnsupportedFileType
from funding import annuaire, selectors, services
from funding.enums import CountSource
from funding.models import MailboxCount
from tests.factories import OperatorFactory, agent, claim_in_state, pdf, ready_advance, segur_campaign
from tests.funding.annuaire_utils import extraction, operator_with_domains, row

pytestmark = pytest.mark.django_db

CLOSURE = date(2023, 6, 30)


def snapshot_with(tmp_path, rows, as_of=CLOSURE):
    return services.annuaire_import(path=extraction(tmp_path, rows), as_of=as_of).snapshot


def test_counts_per_operator_follow_the_domains_valid_on_the_snapshot_date(tmp_path):
    alpha = operator_with_domains("alpha.mssante.fr")
    beta = operator_with_domains("beta.mssante.fr", valid_from=date(2023, 1, 1))
    gone = operator_with_domains("parc.mssante.fr", valid_until=date(2023, 5, 31))
    heir = operator_with_domains("parc.mssante.fr", valid_from=date(2023, 6, 1))
    snapshot = snapshot_with(
        tmp_path,
        [
            row("PER", "a1@alpha.mssante.fr"),
            row("ORG", "a2@ALPHA.mssante.fr"),
            row("PER", "b1@beta.mssante.fr"),
            row("PER", "p1@parc.mssante.fr"),
            row("PER", "p2@parc.mssante.fr"),
            row("PER", "x@ailleurs.mssante.fr"),
        ],
    )
    counts = annuaire.operator_type_counts(snapshot.pk, CLOSURE)
    assert counts == {
        (alpha.pk, "PER"): 1,
        (alpha.pk, "ORG"): 1,
        (beta.pk, "PER"): 1,
        (heir.pk, "PER"): 2,
    }
    assert gone.pk not in {operator for operator, _ in counts}
    # A year earlier, the park was the first operator's and beta did not exist yet.
    earlier = annuaire.operator_type_counts(snapshot.pk, date(2022, 6, 30))
    assert earlier[(gone.pk, "PER")] == 2
    assert (beta.pk, "PER") not in earlier


def test_counts_at_takes_per_org_from_the_snapshot_and_app_from_the_count_file(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr"), row("ORG", "a2@alpha.mssante.fr")])
    MailboxCount.objects.create(
        operator=operator, mailbox_type="APP", as_of=CLOSURE, count=7, source=CountSource.COUNT_FILE, source_note="f"
    )
    # A recorded PER figure does not override the directory's.
    MailboxCount.objects.create(operator=operator, mailbox_type="PER", as_of=CLOSURE, count=999, source_note="saisie")
    assert selectors.counts_at(operator=operator, day=CLOSURE) == {"APP": 7, "ORG": 1, "PER": 1}
    lines = selectors.count_lines_at(operator=operator, day=CLOSURE)
    assert lines["APP"].source == CountSource.COUNT_FILE
    assert lines["PER"].source == CountSource.ANNUAIRE
    assert "Extraction_Correspondance_MSSante" in lines["PER"].detail


def test_counts_at_falls_back_to_recorded_rows_without_a_snapshot_or_a_domain(tmp_path):
    operator = OperatorFactory()
    assert selectors.counts_at(operator=operator, day=CLOSURE) is None
    MailboxCount.objects.create(operator=operator, mailbox_type="ORG", as_of=CLOSURE, count=4, source_note="saisie")
    assert selectors.counts_at(operator=operator, day=CLOSURE) == {"ORG": 4}
    # A snapshot exists, but this operator held no domain that day: the recorded rows still apply.
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr")])
    assert selectors.counts_at(operator=operator, day=CLOSURE) == {"ORG": 4}
    assert selectors.counts_at(operator=operator, day=CLOSURE + timedelta(days=1)) is None


def test_newest_snapshot_of_a_day_wins(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr")])
    (tmp_path / "second").mkdir()
    snapshot_with(tmp_path / "second", [row("PER", "a1@alpha.mssante.fr"), row("PER", "a2@alpha.mssante.fr")])
    assert selectors.counts_at(operator=operator, day=CLOSURE)["PER"] == 2


def test_a_submitted_claim_freezes_snapshot_counts_with_their_sources(tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    operator = OperatorFactory(eligible=True)
    from operators.models import MailDomain

    MailDomain.objects.create(operator=operator, name="alpha.mssante.fr")
    snapshot_with(
        tmp_path, [row("PER", f"p{n}@alpha.mssante.fr") for n in range(3)] + [row("ORG", "o@alpha.mssante.fr")]
    )
    claim, user = ready_advance(operator=operator, campaign=campaign)  # also records APP 10 / ORG 100 / PER 1000
    claim = claim_services.claim_submit(claim=claim, actor=user)
    assert claim.counts == {"APP": 10, "ORG": 1, "PER": 3}
    sources = claim.breakdown["count_sources"]
    assert sources["PER"]["source"] == "annuaire"
    assert sources["APP"]["source"] == "agent_entry"
    assert sources["PER"]["label"] == "Extraction de l'Annuaire Santé"


def test_agent_entry_keeps_its_proof_checked_by_content(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    operator = OperatorFactory()
    instructor = agent()
    entry = services.mailbox_count_record(
        operator=operator,
        mailbox_type="APP",
        as_of=CLOSURE,
        count=12,
        source_note="Attestation de l'opérateur",
        actor=instructor,
        proof=pdf("attestation.pdf"),
    )
    entry.refresh_from_db()
    assert entry.source == CountSource.AGENT_ENTRY
    assert entry.proof.name.startswith(f"count-proofs/{operator.pk}/")
    assert len(entry.proof_sha256) == 64
    with pytest.raises(UnsupportedFileType):
        services.mailbox_count_record(
            operator=operator,
            mailbox_type="APP",
            as_of=CLOSURE,
            count=13,
            source_note="x",
            actor=instructor,
            proof=pdf("faux.pdf", content=b"MZ not a pdf"),
        )
    entry.refresh_from_db()
    assert entry.count == 12


def test_only_an_instructor_records_a_count_with_a_known_type():
    operator = OperatorFactory()
    with pytest.raises(NotAllowed):
        services.mailbox_count_record(
            operator=operator, mailbox_type="APP", as_of=CLOSURE, count=1, source_note="x", actor=None
        )
    with pytest.raises(InvalidInput):
        services.mailbox_count_record(
            operator=operator, mailbox_type="CAB", as_of=CLOSURE, count=1, source_note="x", actor=agent()
        )


def test_guard_passes_once_the_snapshot_establishes_the_counts(tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    claim, user = claim_in_state("draft", campaign=campaign)
    MailboxCount.objects.filter(operator=claim.operator).delete()
    from claims.workflow import counts_recorded

    assert counts_recorded(claim, actor=user, at=None)
    from operators.models import MailDomain

    MailDomain.objects.create(operator=claim.operator, name="gamma.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "g@gamma.mssante.fr")])
    assert counts_recorded(claim, actor=user, at=None) == []
