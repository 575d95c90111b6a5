"""`seed_demo`, what `make run` shows: Annuaire extractions through the real import, quiet, re-runnable."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from claims.models import Claim
from funding import annuaire, selectors
from funding.calendar import paris_today
from funding.models import AnnuaireSnapshot, Campaign, GrowthCheck
from operators import company
from tests.factories import PDF

pytestmark = pytest.mark.django_db


def seed_as_in_production():
    """`seed_demo` with the company directory configured as in production, every question to it recorded
    (the demo's SIRENs are fictitious: none may be asked about); returns its output, e-mails and questions."""
    out, asked = StringIO(), []
    mail.outbox = []
    with (
        override_settings(COMPANY_API_URL="https://recherche-entreprises.example"),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(company, "company_lookup", lambda **kwargs: asked.append(kwargs))
        call_command("seed_demo", stdout=out)
    return {"out": out.getvalue(), "mails": list(mail.outbox), "asked": asked}


@pytest.fixture(scope="module")
def seeded(module_db):
    """One run of seed_demo (two Annuaire imports) shared by the module's tests (module_db)."""
    return module_db.build(seed_as_in_production)


@pytest.fixture
def seed(seeded, module_media):
    return seeded


def test_seed_demo_imports_two_extractions_flags_growth_and_freezes_annuaire_counts(seed):
    campaign = Campaign.objects.get(code="demo")

    closure = selectors.snapshot_at(campaign.closure_date)
    reference = selectors.reference_snapshot(campaign)
    assert closure is not None and reference is not None and reference.as_of < closure.as_of
    assert closure.error_count == 1  # the bad line the demo file carries on purpose
    assert closure.by_type["CAB"] == 3
    unknown = annuaire.unknown_domains(closure.pk, closure.as_of)
    assert set(unknown) == {"cabinet-sans-operateur.mssante.fr", "ehpad-des-tilleuls.mssante.fr"}

    flagged = list(
        GrowthCheck.objects.filter(campaign=campaign, flagged=True).values_list("operator__legal_name", flat=True)
    )
    assert flagged == ["Zeta Biologie"]

    claim = (
        Claim.objects.filter(campaign=campaign, operator__legal_name="Alpha Santé Messagerie").order_by("pk").first()
    )
    sources = claim.breakdown["count_sources"]
    assert sources["PER"]["source"] == "annuaire" and sources["ORG"]["source"] == "annuaire"
    assert sources["APP"]["source"] == "agent_entry"  # APP is not in the public file
    assert claim.counts == {"APP": 120, "ORG": 2400, "PER": 31000}

    # The demo's e-mails are not printed (nor sent), and a second run changes nothing.
    assert "Content-Type" not in seed["out"]
    assert seed["mails"] == []
    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "déjà présentes : inchangées" in again.getvalue()
    assert AnnuaireSnapshot.objects.count() == 2


def test_right_after_seed_demo_op_alpha_files_an_advance_on_demo_open_through_the_api(seed):
    client = APIClient()
    token = client.post("/api/v1/auth/token", {"username": "op-alpha", "password": "demo-password"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    campaign = client.get("/api/v1/campaigns/demo-open/").json()
    assert campaign["closure_date"] > paris_today().isoformat()  # the closure is still ahead

    created = client.post("/api/v1/claims", {"campaign": "demo-open", "kind": "advance"}, format="json")
    assert created.status_code == 201, created.json()
    claim_url = f"/api/v1/claims/{created.json()['id']}"

    upload = client.post(
        f"{claim_url}/documents",
        {"kind": "conformity_report", "file": SimpleUploadedFile("rapport.pdf", PDF, "application/pdf")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    submitted = client.post(f"{claim_url}/submit")
    assert submitted.status_code == 200, submitted.json()
    claim = client.get(claim_url).json()
    breakdown = claim["breakdown"]
    assert {line["type"]: line["count"] for line in breakdown["lines"]} == {"APP": 120, "ORG": 2400, "PER": 31000}
    assert {source["source"] for source in breakdown["count_sources"].values()} == {"count_file"}
    # 120 × 58,33 + 2 400 × 20,83 + 31 000 × 5 + 6 666,67 = 218 658,27 € HT; 30 % = 65 597,481 → 65 597,48.
    assert breakdown["total"] == "218658.27"
    assert Decimal(claim["amount"]) == (Decimal(breakdown["total"]) * Decimal("0.3")).quantize(Decimal("0.01"))
    assert (claim["amount"], claim["vat_rate"], claim["vat"], claim["amount_to_pay"]) == (
        "65597.48", "0.2000", "13119.50", "78716.98"
    )  # fmt: skip


def test_seed_demo_never_asks_the_company_directory_about_its_fictitious_sirens(seed):
    assert seed["asked"] == []
    assert Campaign.objects.filter(code="demo-open").exists()
