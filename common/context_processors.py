"""Template context shared by every page: the legal names and contacts (settings.LEGAL)."""

from django.conf import settings


def legal(request):
    return {"legal": settings.LEGAL}
