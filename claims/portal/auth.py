"""Login throttling (django-axes) for every login form of the site: portal, admin and API token."""

from axes.backends import AxesStandaloneBackend


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
