"""The portal's public information pages (DSFR obligations): legal notice, personal data,
accessibility statement, site map, help and contact. Names and contacts come from settings.LEGAL
(common.context_processors.legal); the texts are the templates in portal/templates/portail/legal/."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

# url name → (template, title, path under /portail/); the site map lists them in this order.
PAGES = {
    "help": ("portail/legal/help.html", "Aide et contact", "aide/"),
    "legal_notice": ("portail/legal/legal_notice.html", "Mentions légales", "mentions-legales/"),
    "personal_data": ("portail/legal/personal_data.html", "Données personnelles", "donnees-personnelles/"),
    "accessibility": ("portail/legal/accessibility.html", "Déclaration d'accessibilité", "accessibilite/"),
    "sitemap": ("portail/legal/sitemap.html", "Plan du site", "plan-du-site/"),
}

# The pages whose accessibility is checked by the browser tests (tests/e2e/test_accessibility_browser.py),
# as the accessibility statement lists them.
TESTED_PAGES = [
    "Connexion",
    "Créer un compte",
    "Simulateur de financement",
    "Tableau de bord (mes demandes)",
    "Page d'une demande (brouillon, compléments demandés, erreur de dépôt)",
    "Déclarer mon opérateur (enrôlement), avec une erreur",
    "Pages d'erreur (404, 403)",
    "Mentions légales, données personnelles, déclaration d'accessibilité, plan du site, aide",
    "Administration : liste des demandes, page d'une demande",
]


@require_GET
def page(request, name):
    template, title, _path = PAGES[name]
    context = {"title": title, "pages": PAGES, "tested_pages": TESTED_PAGES}
    return render(request, template, context)
