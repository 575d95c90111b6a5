"""Portal page where an operator's user asks for its payments to go to another account (issue 12).

The request goes through `operators.services.bank_details_request` (checks IBAN, BIC and the RIB by
content before writing anything); an agent decides in the admin. Reads are scoped to the user's
operator, so another operator's request or RIB is a 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from common.downloads import attachment_response
from common.exceptions import DomainError
from operators import selectors as operator_selectors
from operators import services as operator_services
from portal import helpers
from portal.forms import DsfrFormMixin, apply_domain_error


class BankDetailsForm(DsfrFormMixin, forms.Form):
    iban = forms.CharField(
        label="Nouvel IBAN", max_length=50, help_text="Par exemple FR76 3000 6000 0112 3456 7890 189."
    )
    bic = forms.CharField(label="BIC", max_length=20, help_text="8 ou 11 caractères.")
    # Empty files reach the service, which refuses them with the same message as the API.
    proof = forms.FileField(
        label="Relevé d'identité bancaire (RIB) du nouveau compte",
        allow_empty_file=True,
        help_text="PDF, PNG ou JPEG, 20 Mo au maximum. Le type est vérifié d'après le contenu du fichier.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )
    comment = forms.CharField(
        label="Commentaire pour l'agence (facultatif)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@require_http_methods(["GET", "POST"])
@login_required
def bank_details(request):
    """The account paid today, the request waiting for the agency (if any), the history, and the form."""
    operator = helpers.operator_or_404(request.user)
    pending = operator_selectors.pending_bank_details_change(operator=operator)
    form = None
    if pending is None:
        form = BankDetailsForm(
            request.POST if request.method == "POST" else None, request.FILES if request.method == "POST" else None
        )
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            operator_services.bank_details_request(
                operator=operator,
                actor=request.user,
                iban=data["iban"],
                bic=data["bic"],
                proof=data["proof"],
                comment=data["comment"],
            )
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(
                request,
                "Demande enregistrée : l'agence de paiement va vérifier le RIB. D'ici sa validation, les paiements "
                "restent versés sur le compte validé auparavant. Vous serez averti par e-mail.",
            )
            return redirect("portal:bank_details")
    elif request.method == "POST" and form is None:
        messages.error(request, operator_services.BANK_DETAILS_PENDING)
        return redirect("portal:bank_details")
    context = {
        "operator": operator,
        "validated": operator_selectors.validated_bank_details(operator=operator),
        "pending": pending,
        "changes": operator_selectors.bank_details_changes_visible_to(user=request.user)
        .filter(operator=operator)
        .select_related("proof")
        .prefetch_related("events"),
        "form": form,
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "portail/bank_details.html", context, status=status)


@require_GET
@login_required
def bank_details_proof_download(request, pk):
    """A bank-details RIB, to the operator's users (and agents) only; always as an attachment."""
    proof = get_object_or_404(operator_selectors.bank_details_proofs_visible_to(user=request.user), pk=pk)
    return attachment_response(proof)
