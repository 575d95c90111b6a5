"""Portal forms: input shape only (French labels and messages); the rules live in the services."""

import hashlib
import logging

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.utils import timezone

from claims import selectors, workflow
from claims.enums import UPLOADABLE_KINDS, ClaimKind, DocumentKind
from claims.recoveries import OBSERVATIONS_MAX_CHARS, OBSERVATIONS_MAX_FILES
from common import ratelimit
from common.exceptions import InvalidInput
from common.net import client_ip
from funding.enums import MAX_COUNT, MailboxType
from operators.enums import EnrolmentDocumentKind, OperatorKind
from operators.services import DECLARED_FIELDS

logger = logging.getLogger(__name__)


class DsfrFormMixin:
    """Puts the State design system's classes on widgets and marks fields in error for assistive tech."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                css = "fr-select"
            elif isinstance(widget, forms.FileInput):
                css = "fr-upload"
            else:
                css = "fr-input"
            widget.attrs.setdefault("class", css)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{self[name].auto_id}-desc-error"
            css = attrs.get("class", "fr-input")
            if "--error" not in css:
                attrs["class"] = f"{css} {css}--error"


class LoginForm(DsfrFormMixin, auth_forms.AuthenticationForm):
    pass


class PasswordResetForm(DsfrFormMixin, auth_forms.PasswordResetForm):
    """Django's reset form; e-mails are limited per client address and per account (per hour).

    Beyond a limit nothing is sent and the page answers exactly as when an e-mail is sent (or when
    no account has that address), so the limit discloses nothing. Without the cache: 503.
    """

    def save(self, *args, request=None, **kwargs):
        email = self.cleaned_data["email"].strip().lower()
        address = client_ip(request)
        by_address = ratelimit.hit(
            "password_reset_address", address, limit=settings.PASSWORD_RESET_PER_ADDRESS, period=3600
        )
        account = hashlib.sha256(email.encode()).hexdigest()
        by_account = ratelimit.hit(
            "password_reset_account", account, limit=settings.PASSWORD_RESET_PER_ACCOUNT, period=3600
        )
        if by_address or by_account:
            logger.warning("password reset not sent (limit reached) from %s", address)
            return
        super().save(*args, request=request, **kwargs)


class SetPasswordForm(DsfrFormMixin, auth_forms.SetPasswordForm):
    pass


class SimulatorForm(DsfrFormMixin, forms.Form):
    """Counts per mailbox type, as in the workshop's spreadsheet."""

    APP = forms.IntegerField(
        label="BAL applicatives (APP)", min_value=0, max_value=MAX_COUNT, help_text="Nombre entier, 0 si aucune."
    )
    ORG = forms.IntegerField(
        label="BAL organisationnelles (ORG)", min_value=0, max_value=MAX_COUNT, help_text="Nombre entier, 0 si aucune."
    )
    PER = forms.IntegerField(
        label="BAL personnelles (PER)", min_value=0, max_value=MAX_COUNT, help_text="Nombre entier, 0 si aucune."
    )

    def counts(self):
        return {t.value: self.cleaned_data[t.value] for t in MailboxType}


class DocumentUploadForm(DsfrFormMixin, forms.Form):
    kind = forms.ChoiceField(label="Type de pièce")
    # Empty files reach the service, which refuses them with the same message as the API.
    file = forms.FileField(
        label="Fichier",
        allow_empty_file=True,
        help_text="PDF, PNG ou JPEG, 20 Mo au maximum. Le type est vérifié d'après le contenu du fichier.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def __init__(self, *args, claim, at=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only what this claim needs (claims.workflow.offered_proof_kinds), the first missing required
        # proof selected; letters and receipts are generated, never uploaded.
        at = at or timezone.now()
        kinds = [k for k in workflow.offered_proof_kinds(claim, at=at) if k in UPLOADABLE_KINDS]
        self.fields["kind"].choices = [(k.value, DocumentKind(k).label) for k in kinds]
        present = selectors.latest_documents(claim=claim)
        missing = [k for k in workflow.required_proof_kinds(claim) if k not in present]
        self.fields["kind"].initial = (missing or kinds)[0].value


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; empty files reach the service, which refuses them (same message as
    the API)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}))
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files if item]


class RecoveryObservationsForm(DsfrFormMixin, forms.Form):
    """The operator's observations on an undue-payment notice (claims.recoveries.recovery_record_observations)."""

    observations = forms.CharField(
        label="Vos observations",
        max_length=OBSERVATIONS_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Exposez pourquoi le montant ne serait pas dû, en tout ou partie.",
    )
    attachments = MultipleFileField(
        label="Pièces jointes",
        required=False,
        help_text=f"PDF, PNG ou JPEG, 20 Mo au maximum chacune, {OBSERVATIONS_MAX_FILES} au plus.",
    )


class TechnicalDocForm(DsfrFormMixin, forms.Form):
    """What a balance declares beside its proofs (the workshop: documentation "et point de contact a minima")."""

    technical_doc_url = forms.URLField(
        label="Lien vers la documentation technique pour les éditeurs",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Adresse https, exigée pour la demande de solde.",
    )
    technical_contact_name = forms.CharField(
        label="Contact technique : nom",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    technical_contact_email = forms.EmailField(
        label="Contact technique : e-mail",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    deployment_date = forms.DateField(
        label="Date de déploiement du connecteur",
        required=False,
        help_text="Au plus tard la date de clôture. Format : JJ/MM/AAAA.",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )
    installation_date = forms.DateField(
        label="Date d'installation figurant sur la facture du connecteur (opérateur acheteur)",
        required=False,
        help_text="Au plus tard la date de clôture. Format : JJ/MM/AAAA.",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )

    def __init__(self, *args, buyer=False, balance=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not buyer:
            del self.fields["installation_date"]
        # What a balance's filing guards require (claims.workflow: technical_doc_https,
        # deployment_declared) is marked required; the guards, not the form, refuse it when missing.
        for field in self.fields.values():
            field.mandatory = balance
            if balance:
                field.widget.attrs["aria-required"] = "true"


class CommentForm(DsfrFormMixin, forms.Form):
    comment = forms.CharField(
        label="Commentaire (facultatif)", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ClaimCreateForm(forms.Form):
    campaign = forms.SlugField()
    kind = forms.ChoiceField(choices=ClaimKind.choices)


# --- Accounts, enrolment, invitations --------------------------------------------------------------


class _NewPasswordMixin(forms.Form):
    """Two password fields that must match; strength is checked by the service (password validators)."""

    password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="12 caractères au moins conseillés ; ni trop courant, ni uniquement des chiffres.",
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password2") and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "Les deux mots de passe ne correspondent pas.")
        return cleaned


# Personal fields say what they hold (WCAG 1.3.5): browsers and assistive tech fill them in.
GIVEN_NAME = forms.TextInput(attrs={"autocomplete": "given-name"})
FAMILY_NAME = forms.TextInput(attrs={"autocomplete": "family-name"})


class SignupForm(DsfrFormMixin, _NewPasswordMixin):
    username = forms.CharField(
        label="Identifiant",
        max_length=150,
        help_text="Lettres, chiffres et @ . + - _ ; il sert à vous connecter.",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    email = forms.EmailField(label="Adresse électronique", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    first_name = forms.CharField(label="Prénom", max_length=150, required=False, widget=GIVEN_NAME)
    last_name = forms.CharField(label="Nom", max_length=150, required=False, widget=FAMILY_NAME)

    field_order = ["username", "email", "first_name", "last_name", "password1", "password2"]


class InvitationAcceptForm(DsfrFormMixin, _NewPasswordMixin):
    username = forms.CharField(
        label="Identifiant", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    first_name = forms.CharField(label="Prénom", max_length=150, required=False, widget=GIVEN_NAME)
    last_name = forms.CharField(label="Nom", max_length=150, required=False, widget=FAMILY_NAME)

    field_order = ["username", "first_name", "last_name", "password1", "password2"]


PROOF_HELP = "PDF, PNG ou JPEG, 20 Mo au maximum."


class EnrolmentForm(DsfrFormMixin, forms.Form):
    """The declaration of an enrolment and its proofs (field names are the service's).

    The form only gives the input its shape: every rule (required fields, SIREN, IBAN, BIC, the
    provider of a buyer, the VAT proof that follows the declaration, missing or refused proofs) is
    the service's, so that all errors come back at once, from one place. Mandatory fields are
    marked `mandatory` (label without « facultatif », `aria-required`).
    """

    # Required only in some cases, which the help text states (the service decides).
    OPTIONAL = (
        "siret",
        "provider_siren",
        "provider_referencing_number",
        "contact_email",
        EnrolmentDocumentKind.VAT_CERTIFICATE,
        EnrolmentDocumentKind.VAT_NON_LIABILITY,
        EnrolmentDocumentKind.CONTRACT_V2,
    )
    PROOF_HINTS = {
        EnrolmentDocumentKind.VAT_CERTIFICATE: "Si l'entité est assujettie à la TVA.",
        EnrolmentDocumentKind.VAT_NON_LIABILITY: "Si l'entité n'est pas assujettie à la TVA (par exemple un "
        "établissement public de santé) : déclaration signée du représentant légal.",
        EnrolmentDocumentKind.CONTRACT_V2: "Si vous l'avez déjà signé : il sera transmis à l'ANS pour "
        "contre-signature à la validation de votre enrôlement.",
    }

    legal_name = forms.CharField(
        label="Raison sociale", max_length=255, widget=forms.TextInput(attrs={"autocomplete": "organization"})
    )
    siren = forms.CharField(label="SIREN", max_length=20, help_text="9 chiffres.")
    siret = forms.CharField(label="SIRET du siège", max_length=20, help_text="14 chiffres.")
    kind = forms.ChoiceField(label="Type d'opérateur", choices=[("", "— Choisir —"), *OperatorKind.choices])
    provider_siren = forms.CharField(
        label="SIREN de l'opérateur prestataire",
        max_length=20,
        help_text="Obligatoire pour un opérateur acheteur : l'opérateur développeur, référencé Ségur, "
        "qui lui fournit le connecteur.",
    )
    provider_referencing_number = forms.CharField(
        label="Numéro de référencement ANS de l'opérateur prestataire",
        max_length=64,
        help_text="Obligatoire pour un opérateur acheteur.",
    )
    referencing_number = forms.CharField(label="Numéro de référencement ANS", max_length=64)
    iban = forms.CharField(label="IBAN", max_length=50, help_text="Compte sur lequel le financement sera versé.")
    bic = forms.CharField(label="BIC", max_length=20)
    # A CharField (the service checks the address, with the other errors) shown as an e-mail input.
    contact_email = forms.CharField(
        label="Adresse électronique de contact",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # Values "True" / "False" so that a bound or initial boolean shows selected; no default: an explicit choice.
    vat_liable = forms.ChoiceField(
        label="L'entité est-elle assujettie à la TVA ?",
        choices=[
            ("", "— Choisir —"),
            ("True", "Oui : joindre l'attestation d'assujettissement"),
            ("False", "Non : joindre la déclaration de non-assujettissement"),
        ],
        help_text="Un opérateur non assujetti (par exemple un hôpital public) est payé hors TVA.",
    )

    def __init__(self, *args, documents_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in EnrolmentDocumentKind.choices:
            hint = " ".join(filter(None, [self.PROOF_HINTS.get(kind), PROOF_HELP]))
            self.fields[kind] = forms.FileField(
                label=label,
                allow_empty_file=True,
                help_text=hint if documents_required else f"{hint} Seulement pour la remplacer.",
                widget=forms.ClearableFileInput(
                    attrs={"accept": "application/pdf,image/png,image/jpeg", "class": "fr-upload"}
                ),
            )
        for name, field in self.fields.items():
            field.required = False
            field.mandatory = name not in self.OPTIONAL and (
                documents_required or name not in EnrolmentDocumentKind.values
            )
            if field.mandatory:
                field.widget.attrs["aria-required"] = "true"

    def declared(self):
        return {name: self.cleaned_data.get(name) or "" for name in DECLARED_FIELDS}

    def documents(self):
        return {kind: self.cleaned_data.get(kind) for kind in EnrolmentDocumentKind.values}

    # {field name: {"path", "name"}}: files kept from an earlier attempt (portal.staging).
    staged = {}

    def document_fields(self):
        """(bound field, name of the file kept from an earlier attempt or "") for each proof."""
        return [(self[kind], self.staged.get(kind, {}).get("name", "")) for kind in EnrolmentDocumentKind.values]

    def declaration_fields(self):
        return [self[name] for name in DECLARED_FIELDS]


class InviteForm(DsfrFormMixin, forms.Form):
    email = forms.EmailField(label="Adresse électronique du collègue")


FORM_HAS_ERRORS = "Le formulaire contient des erreurs : corrigez les champs signalés."


def error_summary(*forms):
    """Every error of the bound `forms`, for the summary at the top of the page (base.html), which
    takes the focus: [{"href", "label", "message"}]. A field's error links to its field; an error of
    the whole form to its first field."""
    items = []
    for form in forms:
        if form is None or not form.is_bound or not form.errors:
            continue
        first = next(iter(form), None)
        for name, errors in form.errors.items():
            field = form[name] if name in form.fields else first
            label = form.fields[name].label if name in form.fields else ""
            for message in errors:
                items.append(
                    {"href": f"#{field.id_for_label}" if field else "#contenu", "label": label, "message": message}
                )
    return items


def apply_domain_error(form, error, *, default_field=None):
    """Show a DomainError on `form`: its field messages on those fields, its summary above the form.

    Messages for keys the form does not have (e.g. "guards") go above the form too; an error with
    no field messages goes on `default_field` when given.
    """
    shown = set()
    for key, messages in (error.errors or {}).items():
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(key if key in form.fields else None, str(message))
            shown.add(str(message))
    if not shown and default_field:
        form.add_error(default_field, error.message)
    elif error.message not in shown:
        generic = error.message == InvalidInput.default_message
        form.add_error(None, FORM_HAS_ERRORS if generic else error.message)
