"""The State's company directory ("API Recherche d'entreprises", public Sirene data, no key): does a declared
SIREN (and SIRET) exist, and is it open?

`company_lookup` asks `COMPANY_API_URL` (`GET /search?q=<siret or siren>`), keeps answers in the cache
(`COMPANY_CACHE_SECONDS`) and raises `CompanyUnavailable` when the service cannot answer (network, timeout,
5xx, 429, a body it cannot read): callers then go on in degraded mode. `COMPANY_API_URL` empty: no check.
"""

import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

UNKNOWN_SIREN = "Ce SIREN est inconnu du répertoire Sirene."
UNKNOWN_SIRET = "Ce SIRET est inconnu du répertoire Sirene."
CLOSED_COMPANY = "Cette entreprise est fermée (cessée au répertoire Sirene) : elle ne peut pas être enrôlée."
CLOSED_ESTABLISHMENT = "Cet établissement est fermé au répertoire Sirene : indiquez le SIRET d'un établissement ouvert."


class CompanyUnavailable(Exception):
    """The directory did not answer (the caller goes on, flagged "non vérifié")."""


@dataclass(frozen=True)
class Company:
    siren: str
    legal_name: str
    active: bool
    siret: str = ""
    establishment_active: bool | None = None  # None when no SIRET was asked

    def problems(self):
        """French messages by field ({"siren": [...], "siret": [...]}); empty when it may enrol."""
        if not self.active:
            return {"siren": [CLOSED_COMPANY]}
        if self.siret and not self.establishment_active:
            return {"siret": [CLOSED_ESTABLISHMENT]}
        return {}


def enabled():
    return bool(settings.COMPANY_API_URL)


def _fetch(query):
    try:
        response = requests.get(
            f"{settings.COMPANY_API_URL.rstrip('/')}/search",
            params={"q": query, "page": 1, "per_page": 5},
            headers={"Accept": "application/json"},
            timeout=settings.COMPANY_API_TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        raise CompanyUnavailable(str(error)) from error
    if response.status_code != 200:
        raise CompanyUnavailable(f"HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as error:
        raise CompanyUnavailable("unreadable body") from error


def _parse(body, *, siren, siret):
    for result in body.get("results") or []:
        if result.get("siren") != siren:
            continue
        legal_name = result.get("nom_raison_sociale") or result.get("nom_complet") or ""
        company = {"siren": siren, "legal_name": legal_name, "active": result.get("etat_administratif") == "A"}
        if not siret:
            return Company(**company)
        establishments = [result.get("siege") or {}, *(result.get("matching_etablissements") or [])]
        for establishment in establishments:
            if establishment.get("siret") == siret:
                return Company(
                    **company, siret=siret, establishment_active=establishment.get("etat_administratif") == "A"
                )
        return None
    return None


def company_lookup(*, siren, siret=""):
    """The company of `siren` (and its establishment `siret`), or None when the directory does not know it.
    Raises CompanyUnavailable. Answers are cached, unknown ones too (for a shorter time)."""
    query = siret or siren
    key = f"company:{query}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    try:
        company = _parse(_fetch(query), siren=siren, siret=siret)
    except CompanyUnavailable:
        logger.warning("company directory unavailable for a lookup")
        raise
    except (AttributeError, TypeError) as error:  # a body of another shape
        raise CompanyUnavailable("unexpected body") from error
    cache.set(key, company or False, settings.COMPANY_CACHE_SECONDS if company else 600)
    return company
