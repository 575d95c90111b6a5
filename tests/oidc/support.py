"""Helpers for the ProConnect tests (tests/oidc)."""

from urllib.parse import urljoin

import requests

# Where the provider sends the browser back after a sign-out (registered with the provider).
LOGOUT_CALLBACK = "http://testserver/proconnect/deconnexion/"


def through_provider(client, start_path, browser=None):
    """Starts a sign-in at `start_path` with the Django test client, lets the provider's automatic
    interactions run (a real HTTP session with its cookies: `browser`, or a new one), and returns the
    Django response to ProConnect's redirect back (the callback)."""
    response = client.get(start_path)
    assert response.status_code == 302, response
    if browser is None:
        with requests.Session() as browser:
            return follow_at_provider(client, browser, response["Location"])
    return follow_at_provider(client, browser, response["Location"])


def follow_at_provider(client, browser, url):
    """Follows the provider's redirects with `browser` until it sends back to the app (the test client)."""
    for _ in range(10):
        if url.startswith("http://testserver/"):
            return client.get(url.removeprefix("http://testserver"))
        answer = browser.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
        url = urljoin(url, answer.headers["Location"])
    raise AssertionError("too many redirects at the provider")
