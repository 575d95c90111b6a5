"""Demo Annuaire Santé extractions for `make run`, loaded through the real import.

Two files: a reference one six months before the demo campaign's closure and one at the closure,
so the admin shows snapshots, unknown domains, errors, counts per operator and a growth anomaly.
"""

import tempfile
from datetime import timedelta
from pathlib import Path

from common.formatting import paris_date
from funding import annuaire, selectors, services
from funding.enums import CountSource, MailboxType
from funding.models import Campaign, FundingSchedule, MailboxCount

REFERENCE_DAYS_BEFORE_CLOSURE = 182
# Mailboxes on domains no operator holds: listed in the admin for an agent to attach.
UNKNOWN_DOMAINS = {"cabinet-sans-operateur.mssante.fr": 45, "ehpad-des-tilleuls.mssante.fr": 12}


def _line(kind, address):
    fields = [kind, address, "8", "10000000001", "810000000001"] + [""] * (annuaire.COLUMN_COUNT - 5)
    return "|".join(fields)


def _extraction_text(*, day, mailboxes):
    """The extraction of `day`: {domain: (org, per)} plus a few CAB, unknown domains, a repeated line
    and one bad line, as the real file has."""
    lines = [annuaire.HEADER]
    for domain, (org, per) in mailboxes.items():
        lines += [_line("ORG", f"secretariat.{n}@{domain}") for n in range(org)]
        lines += [_line("PER", f"praticien.{n}@{domain}") for n in range(per)]
    for domain, count in UNKNOWN_DOMAINS.items():
        # The day in the addresses: each demo day's file is a different file (its own SHA-256).
        lines += [_line("PER", f"praticien.{day:%Y%m%d}.{n}@{domain}") for n in range(count)]
    first_domain = next(iter(mailboxes))
    lines += [_line("CAB", f"cabinet.{n}@{first_domain}") for n in range(3)]
    lines.append(_line("PER", f"praticien.0@{first_domain}"))  # listed twice: counted once
    lines.append(_line("PER", "adresse-sans-arobase"))  # reported with its line number
    return "\n".join(lines) + "\n"


def seed_annuaire(*, campaign, closure_mailboxes, reference_mailboxes, stdout):
    """Import the demo campaign's reference and closure extractions (once), then check growth."""
    if selectors.snapshot_at(campaign.closure_date) is not None:
        stdout.write("Extractions de l'Annuaire de démonstration déjà présentes : inchangées.")
        return
    reference_day = campaign.closure_date - timedelta(days=REFERENCE_DAYS_BEFORE_CLOSURE)
    with tempfile.TemporaryDirectory() as folder:
        for day, mailboxes in ((reference_day, reference_mailboxes), (campaign.closure_date, closure_mailboxes)):
            # The nightly file generated at 04:00 the next morning gives the day's mailboxes: the one
            # after the closure day is the campaign's closure snapshot.
            generated = day + timedelta(days=1)
            path = Path(folder) / f"Extraction_Correspondance_MSSante_{generated:%Y%m%d}0400.txt"
            path.write_text(_extraction_text(day=day, mailboxes=mailboxes), encoding="utf-8")
            result = services.annuaire_import(path=path, as_of=day, actor_label="démonstration (seed_demo)")
            stdout.write(
                f"Extraction de l'Annuaire au {paris_date(day)} : {result.summary['mailboxes']} BAL, "
                f"{len(result.summary['errors'])} ligne(s) en erreur."
            )
    flagged = [check for check in services.growth_checks_refresh(campaign=campaign) if check.flagged]
    stdout.write(f"Contrôle de croissance : {len(flagged)} opérateur(s) signalé(s).")


OPEN_CAMPAIGN = "demo-open"


def seed_open_campaign(*, today, counts_by_operator):
    """A campaign whose closure is still ahead, with ANS count-file figures established today for the
    given operators ({operator: (APP, ORG, PER)}): an advance can be filed right after `make run`."""
    segur = FundingSchedule.objects.get(code="segur-2023")
    campaign, _ = Campaign.objects.update_or_create(
        code=OPEN_CAMPAIGN,
        defaults={
            "label": "Campagne ouverte (démonstration)",
            "schedule": segur,
            "developer_schedule": segur,
            "opening_date": today - timedelta(days=30),
            "closure_date": today + timedelta(days=60),
            "advance_deadline": today + timedelta(days=90),
            "balance_deadline": today + timedelta(days=120),
        },
    )
    for operator, figures in counts_by_operator.items():
        for mailbox_type, count in zip(MailboxType.values, figures, strict=True):
            MailboxCount.objects.update_or_create(
                operator=operator,
                mailbox_type=mailbox_type,
                as_of=today,
                source=CountSource.COUNT_FILE,
                defaults={"count": count, "source_note": "Démonstration : fichier de calcul publié par l'ANS"},
            )
    return campaign
