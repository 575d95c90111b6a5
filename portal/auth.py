"""Login throttling (django-axes) for every login form of the site: portal, admin and API token."""

import logging

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import views as auth_views

from common import ratelimit
from common.net import client_ip

logger = logging.getLogger(__name__)

LOGIN_WINDOW = 15 * 60
TOO_MANY_FROM_ADDRESS = "Trop de tentatives de connexion depuis votre adresse : réessayez dans quelques minutes."


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses logins for a user name and address locked out after repeated failures.

    Only logins coming through an HTTP request are throttled; programmatic authentication
    without a request (management commands, the test client's `login()`) is left to the next
    backend instead of failing, as django-axes' own backend would.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginView(auth_views.LoginView):
    """Django's login, with a limit on failed attempts per client address whatever the user names
    (django-axes limits each user name and address pair). Without the cache it answers 503."""

    def post(self, request, *args, **kwargs):
        failures = ratelimit.count("login", client_ip(request), period=LOGIN_WINDOW)
        if failures >= settings.LOGIN_FAILURES_PER_ADDRESS:
            logger.warning("portal login refused: too many failures from %s", client_ip(request))
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, TOO_MANY_FROM_ADDRESS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        ratelimit.hit("login", client_ip(self.request), limit=settings.LOGIN_FAILURES_PER_ADDRESS, period=LOGIN_WINDOW)
        return super().form_invalid(form)
