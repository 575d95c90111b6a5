"""ProConnect sign-in (OpenID Connect) through mozilla-django-oidc, for agents (admin) and operators' users
(portal). The library verifies the signed ID token and decodes the signed userinfo (`application/jwt`);
this module adds what ProConnect needs: endpoints discovered from the issuer, the issuer and audience
checked, `acr` requested (and required for agents), and the account chosen by
`operators.services.proconnect_account` (matched on e-mail, never created without an invitation).

Signing out of a session opened through ProConnect also ends it at ProConnect (its end_session_endpoint
with the ID token as hint, a signed `state` and /proconnect/deconnexion/ to come back to); a session
opened with a password signs out as before.

Settings: PROCONNECT_ISSUER (empty: ProConnect off), PROCONNECT_CLIENT_ID / PROCONNECT_CLIENT_SECRET
(`_FILE` variants), PROCONNECT_AGENT_ACR_VALUES, AGENT_PASSWORD_LOGIN.
"""

import json
import logging
import time
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import get_random_string
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView, OIDCLogoutView

from operators.services.proconnect import ProConnectRefused, proconnect_account

logger = logging.getLogger(__name__)

UNAVAILABLE = "ProConnect est momentanément indisponible : réessayez dans quelques minutes."
FAILED = "La connexion avec ProConnect a échoué : réessayez."
PASSWORD_LOGIN_OFF = "Les agents se connectent avec ProConnect."
SIGNED_OUT = "Vous êtes déconnecté de ce service et de ProConnect."
SIGNED_OUT_HERE_ONLY = (
    "Vous êtes déconnecté de ce service, mais ProConnect n'a pas pu être joint : "
    "fermez votre navigateur pour terminer aussi votre session ProConnect."
)
_LOGOUT_STATE_SALT = "operators.proconnect.logout"
_BACKEND = "operators.proconnect.ProConnectBackend"

# The provider's metadata per issuer, kept one hour (each process fetches it on first use).
_METADATA_TTL = 3600
_metadata = {}

_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def enabled():
    return bool(settings.PROCONNECT_ISSUER)


def provider_metadata():
    """The issuer's discovery document (cached), checked to name the configured issuer."""
    issuer = settings.PROCONNECT_ISSUER.rstrip("/")
    cached = _metadata.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
    response.raise_for_status()
    metadata = response.json()
    if metadata.get("issuer", "").rstrip("/") != issuer:
        raise SuspiciousOperation("ProConnect: the discovery document names another issuer")
    _metadata[issuer] = (time.monotonic() + _METADATA_TTL, metadata)
    return metadata


def _setting(attr, *default):
    """mozilla-django-oidc's settings, with the endpoints discovered and the client from PROCONNECT_*."""
    if attr in _ENDPOINTS:
        return provider_metadata()[_ENDPOINTS[attr]]
    if attr == "OIDC_RP_CLIENT_ID":
        return settings.PROCONNECT_CLIENT_ID
    if attr == "OIDC_RP_CLIENT_SECRET":
        return settings.PROCONNECT_CLIENT_SECRET
    return import_from_settings(attr, *default)


class ProConnectBackend(OIDCAuthenticationBackend):
    """Authenticates the callback of a ProConnect sign-in; never a user name and password."""

    get_settings = staticmethod(_setting)

    def __init__(self, *args, **kwargs):
        # The library reads every endpoint here; this backend is built for each request's session
        # user, so the endpoints are read lazily (below), only during a sign-in.
        self.UserModel = get_user_model()
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def __getattr__(self, name):
        if name in _ENDPOINTS or name in {"OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET"}:
            return _setting(name)
        raise AttributeError(name)

    def authenticate(self, request, **kwargs):
        if request is None or not enabled() or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """The library checks the signature (JWKS), expiry and nonce; the ID token's issuer and audience
        are checked here."""
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (the signed userinfo carries no nonce)
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if payload.get("iss", "").rstrip("/") != settings.PROCONNECT_ISSUER.rstrip("/"):
                raise SuspiciousOperation("ProConnect: ID token from another issuer")
            if settings.PROCONNECT_CLIENT_ID not in audiences:
                raise SuspiciousOperation("ProConnect: ID token for another client")
        return payload

    def verify_claims(self, claims):
        return bool(claims.get("email"))

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("ProConnect: no e-mail in the userinfo")
        try:
            return proconnect_account(claims=claims, acr=payload.get("acr"))
        except ProConnectRefused as refusal:
            self.request.proconnect_refusal = refusal.message
            return None


class ProConnectLoginView(OIDCAuthenticationRequestView):
    """Sends the browser to ProConnect. `purpose` is "portal" or "admin" (agents: MFA `acr` required)."""

    get_settings = staticmethod(_setting)
    purpose = "portal"

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = _setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ValueError, KeyError, SuspiciousOperation):
            logger.exception("proconnect: discovery failed")
            messages.error(request, UNAVAILABLE)
            return HttpResponseRedirect(reverse(_login_url(self.purpose)))
        self.OIDC_RP_CLIENT_ID = settings.PROCONNECT_CLIENT_ID
        request.session["proconnect_purpose"] = self.purpose
        return super().get(request)

    def get_extra_params(self, request):
        acr = {"essential": True}
        if self.purpose == "admin":
            acr["values"] = list(settings.PROCONNECT_AGENT_ACR_VALUES)
        return {"claims": json.dumps({"id_token": {"acr": acr}})}


def _login_url(purpose):
    return "admin:login" if purpose == "admin" else "portal:login"


class ProConnectCallbackView(OIDCAuthenticationCallbackView):
    """ProConnect's redirect back: signs the user in, or explains in French on the login page."""

    get_settings = staticmethod(_setting)

    @property
    def success_url(self):
        next_url = self.request.session.get("oidc_login_next")
        if next_url:
            return next_url
        return reverse("admin:index" if self._purpose() == "admin" else settings.LOGIN_REDIRECT_URL)

    def _purpose(self):
        return self.request.session.get("proconnect_purpose", "portal")

    def get(self, request):
        if not enabled():
            raise Http404
        try:
            return super().get(request)
        except requests.RequestException:
            logger.exception("proconnect: the provider did not answer the callback's requests")
            messages.error(request, UNAVAILABLE)
            return HttpResponseRedirect(reverse(_login_url(self._purpose())))

    def login_failure(self):
        self.request.session.pop("oidc_id_token", None)  # stored by the library before the refusal
        refusal = getattr(self.request, "proconnect_refusal", None)
        logger.warning("proconnect: sign-in failed (%s)", "refused" if refusal else "error")
        messages.error(self.request, refusal or FAILED)
        return HttpResponseRedirect(reverse(_login_url(self._purpose())))


def _proconnect_session(request):
    return (
        enabled()
        and request.user.is_authenticated
        and request.session.get(BACKEND_SESSION_KEY) == _BACKEND
        and bool(request.session.get("oidc_id_token"))
    )


def end_session_url(request):
    """OIDC_OP_LOGOUT_URL_METHOD, called before the session ends: ProConnect's end_session_endpoint with
    the ID token as hint, a signed state naming where the user signed out, and the way back."""
    purpose = getattr(request, "proconnect_purpose", "portal")
    try:
        endpoint = provider_metadata()["end_session_endpoint"]
    except (requests.RequestException, ValueError, KeyError, SuspiciousOperation):
        logger.exception("proconnect: no end_session_endpoint, signing out here only")
        request.proconnect_unreachable = True
        return reverse(_login_url(purpose))
    state = signing.dumps({"purpose": purpose, "nonce": get_random_string(32)}, salt=_LOGOUT_STATE_SALT)
    query = {
        "id_token_hint": request.session["oidc_id_token"],
        "state": state,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("proconnect:logout_callback")),
    }
    return f"{endpoint}?{urlencode(query)}"


class ProConnectLogoutView(OIDCLogoutView):
    """Sign-out of the portal or the admin (it takes over their logout URLs, config/urls.py). A session
    opened through ProConnect is ended here, then at ProConnect; any other goes to `fallback`, the view
    that served this URL before (Django's LogoutView, the admin's logout)."""

    get_settings = staticmethod(_setting)
    http_method_names = ["post"]
    purpose = "portal"
    fallback = None

    def dispatch(self, request, *args, **kwargs):
        if not _proconnect_session(request):
            return self.fallback(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    @property
    def redirect_url(self):
        return reverse(_login_url(self.purpose))

    def post(self, request):
        request.proconnect_purpose = self.purpose
        response = super().post(request)
        if getattr(request, "proconnect_unreachable", False):
            messages.warning(request, SIGNED_OUT_HERE_ONLY)
        return response


def logout_callback(request):
    """ProConnect's redirect after its sign-out (post_logout_redirect_uri): back to the login page the
    user came from, as the signed state says."""
    try:
        state = signing.loads(request.GET.get("state", ""), salt=_LOGOUT_STATE_SALT, max_age=3600)
    except signing.BadSignature:
        logger.warning("proconnect: sign-out return with a bad or expired state")
        return HttpResponseRedirect(reverse(_login_url("portal")))
    messages.info(request, SIGNED_OUT)
    return HttpResponseRedirect(reverse(_login_url(state.get("purpose"))))


class AgentPasswordGate:
    """With AGENT_PASSWORD_LOGIN off, a staff account cannot sign in with a password (admin, portal, API
    token): raising PermissionDenied stops Django's authentication at this backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if settings.AGENT_PASSWORD_LOGIN or username is None or password is None:
            return None
        if get_user_model().objects.filter(username=username, is_staff=True).exists():
            raise PermissionDenied(PASSWORD_LOGIN_OFF)
        return None


def context(request):
    """Template context: whether the ProConnect buttons are shown."""
    return {"proconnect_enabled": enabled(), "agent_password_login": settings.AGENT_PASSWORD_LOGIN}
