"""Template context shared by every page: the legal names and contacts (settings.LEGAL)."""

from django.conf import settings


def legal(request):
    return {"legal": settings.LEGAL}


def antivirus(request):
    """`antivirus_off`: no clamd configured, proofs are accepted unscanned (the admin says so)."""
    return {"antivirus_off": not settings.CLAMD_ADDRESS}
