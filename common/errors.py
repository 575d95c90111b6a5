"""The French error pages outside the API: what happened, what to do, where to go.

One table (`ERRORS`) gives each status its title and sentences; `error_response` renders it in the
portal's DSFR layout, or in the admin's look under /admin/. Pages are rendered without touching the
database (no user, no session read): a 500 or a 503 may come from a database gone away.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template import loader


@dataclass(frozen=True)
class ErrorText:
    title: str
    lead: str
    advice: str


ERRORS = {
    400: ErrorText(
        "Requête incorrecte",
        "Le service n'a pas pu traiter ce qui lui a été envoyé : l'adresse ou les données du formulaire "
        "sont incorrectes ou trop volumineuses.",
        "Revenez à la page précédente et réessayez. Si vous envoyiez un fichier, vérifiez qu'il ne dépasse pas 20 Mo.",
    ),
    403: ErrorText(
        "Accès refusé",
        "Vous n'avez pas le droit d'accéder à cette page ou d'effectuer cette action avec votre compte.",
        "Vérifiez que vous êtes connecté avec le bon compte. Si vous pensez que c'est une erreur, "
        "contactez l'assistance.",
    ),
    404: ErrorText(
        "Page non trouvée",
        "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée.",
        "Si vous avez tapé l'adresse dans le navigateur, vérifiez qu'elle est correcte. La page n'est "
        "peut-être plus disponible, ou elle concerne un dossier auquel votre compte n'a pas accès.",
    ),
    429: ErrorText(
        "Trop de demandes",
        "Vous avez envoyé trop de demandes en peu de temps : par sécurité, le service les refuse "
        "pendant quelques minutes.",
        "Patientez quelques minutes puis réessayez.",
    ),
    500: ErrorText(
        "Erreur inattendue",
        "Désolé, le service rencontre un problème ; l'équipe technique en est informée.",
        "Essayez de recharger la page ou réessayez un peu plus tard. Ce que vous étiez en train "
        "d'enregistrer ne l'a pas été à moitié : vérifiez-le en rouvrant la page.",
    ),
    503: ErrorText(
        "Service indisponible",
        "Service momentanément indisponible, merci de réessayer dans quelques instants.",
        "Rien n'a été enregistré : réessayez dans quelques instants.",
    ),
}

# A CSRF failure: a form sent after the session ended, or from another tab or site.
CSRF = ErrorText(
    "Formulaire expiré",
    "Le formulaire n'a pas pu être vérifié : votre session a peut-être expiré, ou la page a été ouverte "
    "dans un autre onglet ou avant une reconnexion.",
    "Rechargez la page du formulaire, vérifiez que vous êtes connecté, puis envoyez-le de nouveau. "
    "Si cela persiste, autorisez les cookies de ce site dans votre navigateur.",
)


def is_admin(request):
    return request.path.startswith("/admin/")


def error_response(request, status, *, text=None):
    """The French page for `status` (ERRORS), admin-styled under /admin/, in the portal layout elsewhere."""
    text = text or ERRORS[status]
    # A 500 or a 503 may come from a database gone away: rendered without the request (no user,
    # no session, no menu read from the database); a 4xx page knows who is signed in.
    with_request = status < 500
    context = {"status": status, "error": text, "request_path": request.path, "legal": settings.LEGAL}
    if is_admin(request):
        template = "admin/error.html"
        if with_request:
            context.update(admin.site.each_context(request))
        else:
            context.update(site_header=admin.site.site_header, site_title=admin.site.site_title, site_url="/")
        context.update(title=text.title, is_popup=False, is_nav_sidebar_enabled=False)
    else:
        template = "portail/error.html"
    html = loader.render_to_string(template, context, request=request if with_request else None)
    return HttpResponse(html, status=status)
