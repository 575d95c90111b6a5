"""Growth checks that run themselves: after an import that changes a campaign's snapshots, and daily."""

from datetime import date

import pytest

from config.celery import app
from funding import services, tasks
from funding.models import Campaign, GrowthCheck
from tests.factories import segur_campaign
from tests.funding.annuaire_utils import AFTER_CLOSURE, extraction, operator_with_domains, row

pytestmark = pytest.mark.django_db

REFERENCE, CLOSURE = date(2023, 1, 1), date(2023, 6, 30)


def mailboxes(domain, count, prefix="m"):
    return [row("PER", f"{prefix}{n}@{domain}") for n in range(count)]


@pytest.fixture
def campaign(settings, tmp_path):
    settings.ANOMALY_GROWTH_FACTOR = "2.0"
    settings.ANOMALY_MIN_INCREASE = 20
    settings.AGENTS_NOTIFICATION_EMAIL = "instruction@example.org"
    operator_with_domains("steady.mssante.fr", legal_name="Stable")
    operator_with_domains("surge.mssante.fr", legal_name="Envolée")
    operator_with_domains("new.mssante.fr", legal_name="Nouveau")
    (tmp_path / "ref").mkdir()
    before = mailboxes("steady.mssante.fr", 100) + mailboxes("surge.mssante.fr", 20)
    services.annuaire_import(path=extraction(tmp_path / "ref", before), as_of=REFERENCE)
    campaign = segur_campaign(closure=CLOSURE)
    Campaign.objects.exclude(pk=campaign.pk).delete()  # the shipped campaign closes the same day
    return campaign


def closure_rows(surge=80):
    return mailboxes("steady.mssante.fr", 110) + mailboxes("surge.mssante.fr", surge) + mailboxes("new.mssante.fr", 30)


def import_closure(tmp_path, rows, django_capture_on_commit_callbacks, name=AFTER_CLOSURE, sub="closure"):
    (tmp_path / sub).mkdir()
    with django_capture_on_commit_callbacks(execute=True):
        return services.annuaire_import(path=extraction(tmp_path / sub, rows, name=name), as_of=CLOSURE)


def test_importing_the_closure_snapshot_computes_the_growth_checks_and_mails_the_new_flag_once(
    campaign, tmp_path, django_capture_on_commit_callbacks, mailoutbox
):
    assert not GrowthCheck.objects.filter(campaign=campaign).exists()
    snapshot = import_closure(tmp_path, closure_rows(), django_capture_on_commit_callbacks).snapshot
    checks = {c.operator.legal_name: c for c in GrowthCheck.objects.filter(campaign=campaign)}
    assert checks["Envolée"].flagged and checks["Envolée"].closure_snapshot == snapshot
    assert not checks["Nouveau"].flagged and checks["Nouveau"].growth_label == "nouvel entrant"
    assert not checks["Stable"].flagged
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["instruction@example.org"]
    assert "Envolée" in mail.body and "Nouveau" not in mail.body
    assert f"/admin/operators/operator/{checks['Envolée'].operator_id}/change/" in mail.body
    assert checks["Envolée"].notified_at is not None

    # The daily job finds nothing stale; a manual refresh keeps the flag told: no second e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.refresh_growth_checks() == []
        services.growth_checks_refresh(campaign=campaign)
    assert len(mailoutbox) == 1
    assert GrowthCheck.objects.get(campaign=campaign, operator=checks["Envolée"].operator).notified_at


def test_an_import_that_changes_nothing_for_the_campaign_leaves_its_checks(
    campaign, tmp_path, django_capture_on_commit_callbacks
):
    import_closure(tmp_path, closure_rows(), django_capture_on_commit_callbacks)
    computed = list(GrowthCheck.objects.filter(campaign=campaign).values_list("pk", flat=True))
    # A later extraction (generated two days after closure) is not the closure snapshot: no refresh.
    later = "Extraction_Correspondance_MSSante_202307030400.txt"
    import_closure(tmp_path, closure_rows(surge=500), django_capture_on_commit_callbacks, name=later, sub="later")
    assert list(GrowthCheck.objects.filter(campaign=campaign).values_list("pk", flat=True)) == computed


def test_the_daily_job_refreshes_a_campaign_whose_reference_changed(
    campaign, tmp_path, django_capture_on_commit_callbacks, mailoutbox
):
    import_closure(tmp_path, closure_rows(), django_capture_on_commit_callbacks)
    (tmp_path / "ref2").mkdir()
    with django_capture_on_commit_callbacks(execute=True):
        # An import outside any campaign's reference or closure: stale checks are only the campaign's choice.
        services.annuaire_import(
            path=extraction(tmp_path / "ref2", mailboxes("steady.mssante.fr", 100) + mailboxes("surge.mssante.fr", 70)),
            as_of=date(2023, 3, 1),
        )
    # That import became the reference (the last one before the closure): refreshed at once.
    check = GrowthCheck.objects.get(campaign=campaign, operator__legal_name="Envolée")
    assert check.reference_snapshot.as_of == date(2023, 3, 1)
    assert not check.flagged  # 70 → 80
    campaign.reference_date = REFERENCE
    campaign.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.refresh_growth_checks() == [campaign.code]
    check = GrowthCheck.objects.get(campaign=campaign, operator__legal_name="Envolée")
    assert check.reference_snapshot.as_of == REFERENCE and check.flagged
    # Flagged, cleared, flagged again: a new flag, told again.
    assert len(mailoutbox) == 2


def test_a_campaign_without_its_closure_snapshot_is_left_alone_by_the_daily_job(campaign):
    assert tasks.refresh_growth_checks() == []
    assert not GrowthCheck.objects.exists()


def test_the_daily_job_is_scheduled():
    assert app.conf.beat_schedule["daily-growth-checks"]["task"] == "funding.tasks.refresh_growth_checks"
