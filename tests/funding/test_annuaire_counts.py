"""Counts per operator from the Annuaire snapshot, the other sources, and the claims that freeze them."""

from datetime import date, datetime, timedelta

import pytest

from claims import services as claim_services
from claims.workflow import counts_established
from common.exceptions import InvalidInput, NotAllowed, UnsupportedFileType
from funding import annuaire, selectors, services
from funding.calendar import PARIS
from funding.enums import CountSource
from funding.models import MailboxCount
from operators.models import MailDomain
from tests.factories import OperatorFactory, agent, claim_in_state, pdf, ready_advance, segur_campaign
from tests.funding.annuaire_utils import AFTER_CLOSURE, extraction, operator_with_domains, row

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


def on(day):
    """Counts established on `day` exactly (no older figure)."""
    return selectors.basis_on(day, max_age_days=0)


def test_each_type_takes_the_best_source_of_the_day_and_says_what_it_prevailed_over(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr"), row("ORG", "a2@alpha.mssante.fr")])
    MailboxCount.objects.create(
        operator=operator, mailbox_type="APP", as_of=CLOSURE, count=7, source=CountSource.COUNT_FILE, source_note="f"
    )
    # An agent who checked the proofs may lower or raise the directory's figure.
    MailboxCount.objects.create(operator=operator, mailbox_type="PER", as_of=CLOSURE, count=999, source_note="saisie")
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE)) == {"APP": 7, "ORG": 1, "PER": 999}
    lines = selectors.count_lines_at(operator=operator, basis=on(CLOSURE))
    assert lines["APP"].source == CountSource.COUNT_FILE
    assert lines["ORG"].source == CountSource.ANNUAIRE
    assert "Extraction_Correspondance_MSSante" in lines["ORG"].detail
    assert lines["PER"].source == CountSource.AGENT_ENTRY
    [overridden] = lines["PER"].overridden
    assert (overridden.source, overridden.count) == (CountSource.ANNUAIRE, 1)


def test_the_count_file_prevails_over_the_annuaire_and_an_agent_over_the_count_file(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr")])
    assert selectors.count_lines_at(operator=operator, basis=on(CLOSURE))["PER"].source == CountSource.ANNUAIRE
    MailboxCount.objects.create(
        operator=operator, mailbox_type="PER", as_of=CLOSURE, count=5, source=CountSource.COUNT_FILE, source_note="f"
    )
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE))["PER"] == 5
    MailboxCount.objects.create(operator=operator, mailbox_type="PER", as_of=CLOSURE, count=4, source_note="agent")
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE))["PER"] == 4


def test_a_snapshot_without_app_lines_establishes_no_app_but_its_app_lines_count(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr"), row("ORG", "o@alpha.mssante.fr")])
    lines = selectors.count_lines_at(operator=operator, basis=on(CLOSURE))
    assert "APP" not in lines and selectors.missing_types(lines) == ["APP"]
    (tmp_path / "with-app").mkdir()
    snapshot_with(
        tmp_path / "with-app",
        [row("PER", "a1@alpha.mssante.fr"), row("ORG", "o@alpha.mssante.fr"), row("APP", "lps@alpha.mssante.fr")],
    )
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE)) == {"APP": 1, "ORG": 1, "PER": 1}
    # The file has APP lines: an operator without any gets an established zero.
    other = operator_with_domains("beta.mssante.fr")
    assert selectors.counts_at(operator=other, basis=on(CLOSURE)) == {"APP": 0, "ORG": 0, "PER": 0}


def test_the_latest_figure_within_the_maximum_age_wins_whatever_its_source(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr")])
    later = CLOSURE + timedelta(days=10)
    MailboxCount.objects.create(
        operator=operator, mailbox_type="PER", as_of=later, count=8, source=CountSource.COUNT_FILE, source_note="f"
    )
    basis = selectors.basis_on(later + timedelta(days=5), max_age_days=30)
    line = selectors.count_lines_at(operator=operator, basis=basis)["PER"]
    assert (line.count, line.as_of, line.source) == (8, later, CountSource.COUNT_FILE)
    # Too old: nothing established.
    assert (
        selectors.counts_at(operator=operator, basis=selectors.basis_on(later + timedelta(days=40), max_age_days=30))
        is None
    )


def test_counts_at_falls_back_to_recorded_rows_without_a_snapshot_or_a_domain(tmp_path):
    operator = OperatorFactory()
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE)) is None
    MailboxCount.objects.create(operator=operator, mailbox_type="ORG", as_of=CLOSURE, count=4, source_note="saisie")
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE)) == {"ORG": 4}
    # A snapshot exists, but this operator held no domain that day: the recorded rows still apply.
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr")])
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE)) == {"ORG": 4}
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE + timedelta(days=1))) is None


def test_newest_snapshot_of_a_day_wins(tmp_path):
    operator = operator_with_domains("alpha.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "a1@alpha.mssante.fr")])
    (tmp_path / "second").mkdir()
    snapshot_with(tmp_path / "second", [row("PER", "a1@alpha.mssante.fr"), row("PER", "a2@alpha.mssante.fr")])
    assert selectors.counts_at(operator=operator, basis=on(CLOSURE))["PER"] == 2


def test_the_closure_snapshot_is_the_first_generated_after_the_closure_day_or_the_agents_choice(tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    same_night = services.annuaire_import(path=extraction(tmp_path, [row("PER")]), as_of=CLOSURE).snapshot
    assert same_night.generated_at.isoformat() == "2023-06-30T04:00:00+02:00"
    # Generated at 04:00 on the closure day, it reflects the day before.
    assert selectors.closure_snapshot(campaign) is None
    (tmp_path / "after").mkdir()
    after = services.annuaire_import(
        path=extraction(tmp_path / "after", [row("PER"), row("ORG")], name=AFTER_CLOSURE), as_of=CLOSURE
    ).snapshot
    (tmp_path / "later").mkdir()
    services.annuaire_import(
        path=extraction(tmp_path / "later", [row("PER")], name="Extraction_Correspondance_MSSante_202307020400.txt")
    )
    assert selectors.closure_snapshot(campaign) == after
    campaign.closure_snapshot = same_night  # an agent's explicit choice wins
    campaign.save()
    assert selectors.closure_basis(campaign).snapshot == same_night


def test_a_submitted_claim_freezes_snapshot_counts_with_their_sources(tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    operator = OperatorFactory(eligible=True)

    MailDomain.objects.create(operator=operator, name="alpha.mssante.fr")
    snapshot_with(
        tmp_path, [row("PER", f"p{n}@alpha.mssante.fr") for n in range(3)] + [row("ORG", "o@alpha.mssante.fr")]
    )
    filed = datetime(2023, 7, 3, 10, tzinfo=PARIS)
    claim, user = ready_advance(operator=operator, campaign=campaign, at=filed)  # records APP 10 / ORG 100 / PER 1000
    MailboxCount.objects.filter(operator=operator).exclude(mailbox_type="APP").delete()
    claim = claim_services.claim_submit(claim=claim, actor=user, at=filed)
    assert claim.counts == {"APP": 10, "ORG": 1, "PER": 3}
    sources = claim.breakdown["count_sources"]
    assert sources["PER"]["source"] == "annuaire"
    assert sources["APP"]["source"] == "agent_entry"
    assert sources["PER"]["label"] == "Extraction de l'Annuaire Santé"
    assert claim.breakdown["counts_as_of"] == "2023-07-03"


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


def test_guard_passes_once_every_type_is_established(tmp_path):
    campaign = segur_campaign(closure=CLOSURE)
    filed = datetime(2023, 7, 3, 10, tzinfo=PARIS)
    claim, user = claim_in_state("draft", campaign=campaign, at=filed)
    MailboxCount.objects.filter(operator=claim.operator).delete()

    assert "APP, ORG, PER" in counts_established(claim, actor=user, at=filed)[0]

    MailDomain.objects.create(operator=claim.operator, name="gamma.mssante.fr")
    snapshot_with(tmp_path, [row("PER", "g@gamma.mssante.fr"), row("ORG", "o@autre.mssante.fr")])
    assert "pour : APP." in counts_established(claim, actor=user, at=filed)[0]
    MailboxCount.objects.create(operator=claim.operator, mailbox_type="APP", as_of=CLOSURE, count=0, source_note="0")
    assert counts_established(claim, actor=user, at=filed) == []
