"""Decision letters: generated as PDF on approval, rejection and recovery decisions, e-mailed to the operator."""

import io

import pytest
from pypdf import PdfReader

from claims import services
from claims.enums import DocumentKind
from claims.letters import FONT_DIR, decision_letter, latin_characters
from common.exceptions import InvalidInput
from tests.factories import claim_in_state, pdf, ready_advance, validator

pytestmark = pytest.mark.django_db


def text_of(document):
    with document.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(page.extract_text() for page in reader.pages)


def letter(claim):
    return claim.documents.filter(kind=DocumentKind.DECISION_LETTER).order_by("-version").first()


def test_approval_letter_states_the_amount_and_breakdown(mailoutbox, django_capture_on_commit_callbacks):
    claim, user = claim_in_state("in_review")
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_approve(claim=claim, actor=claim.assigned_to, comment="Pièces conformes.")
    claim.refresh_from_db()
    document = letter(claim)
    assert document.content_type == "application/pdf"
    text = text_of(document)
    assert "Décision d'approbation" in text
    assert claim.operator.legal_name in text and claim.operator.siren in text
    assert "4 299,89 €" in text or "4299,89" in text.replace("\u202f", "").replace(" ", "")
    assert "Pièces conformes." in text
    assert "BAL" in text and "Plafond" in text and "6 666,67" in text.replace("\u202f", " ")
    sent = [m for m in mailoutbox if m.attachments]
    assert len(sent) == 1
    name, content, mimetype = sent[0].attachments[0]
    assert (name, mimetype) == (document.original_name, "application/pdf")
    assert content.startswith(b"%PDF")
    assert user.email in sent[0].to


def test_rejection_letter_gives_the_reason_and_the_appeal(django_capture_on_commit_callbacks):
    claim, _ = claim_in_state("in_review")
    services.claim_reject(claim=claim, actor=claim.assigned_to, comment="Rapport de conformité périmé.")
    text = text_of(letter(claim))
    assert "Décision de rejet" in text
    assert "Rapport de conformité périmé." in text
    assert "recours" in text


def test_letters_are_versions_never_overwritten():
    claim, _ = claim_in_state("in_review")
    services.claim_reject(claim=claim, actor=claim.assigned_to, comment="Motif 1.")

    services.claim_reopen(claim=claim, actor=validator(), comment="Relecture.")
    services.claim_approve(claim=claim, actor=claim.assigned_to)
    versions = list(claim.documents.filter(kind=DocumentKind.DECISION_LETTER).values_list("version", flat=True))
    assert sorted(versions) == [1, 2]


def test_operators_cannot_upload_a_fake_decision_letter():
    claim, user = ready_advance()
    with pytest.raises(InvalidInput):
        services.document_upload(claim=claim, actor=user, kind=DocumentKind.DECISION_LETTER, uploaded_file=pdf())


def test_letters_embed_the_dejavu_fonts_shipped_with_the_code_whatever_the_machine(settings):
    """Letters never depend on the system's fonts: DejaVu Sans comes from claims/fonts, so € and « » are
    printed as such, not spelled out by a fallback core font."""
    claim, _ = claim_in_state("approved")
    pdf = PdfReader(
        io.BytesIO(decision_letter(claim=claim, title="Décision", paragraphs=["« 1 234 € »"], signed_by="X"))
    )
    fonts = {font["/BaseFont"] for font in pdf.pages[0]["/Resources"]["/Font"].values()}
    assert {name.split("+", 1)[1] for name in fonts} == {"DejaVuSansBook", "DejaVuSansBold"}
    assert "« 1 234 € »" in pdf.pages[0].extract_text()
    assert (FONT_DIR / "LICENSE").is_file() and str(FONT_DIR).startswith(str(settings.BASE_DIR))


def test_text_outside_the_latin_cut_is_drawn_with_the_whole_fonts():
    """Letters parse a Latin cut of DejaVu (fast); a character it lacks (a file name in Greek or Cyrillic)
    brings in the whole fonts, so it is printed, not dropped or replaced by a box."""
    claim, _ = claim_in_state("approved")

    def fonts_and_text(paragraph):
        reader = PdfReader(
            io.BytesIO(decision_letter(claim=claim, title="Décision", paragraphs=[paragraph], signed_by="X"))
        )
        fonts = [font["/BaseFont"].split("+", 1)[1] for font in reader.pages[0]["/Resources"]["/Font"].values()]
        return fonts, reader.pages[0].extract_text()

    fonts, text = fonts_and_text("Œuvre « 1 234,56 € » — n° 7")
    assert sorted(fonts) == ["DejaVuSansBold", "DejaVuSansBook"] and "Œuvre « 1 234,56 € » — n° 7" in text
    assert len(latin_characters()) < 600 and {"€", "«", "»", "œ", "Œ", "\u202f", "’", "—"} <= latin_characters()

    fonts, text = fonts_and_text("Facture Ωμέγα Москва.pdf")
    assert "Ωμέγα Москва" in text
    assert sorted(fonts) == ["DejaVuSansBold", "DejaVuSansBook", "DejaVuSansBook"]  # + the whole regular font
