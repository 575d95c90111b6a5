"""Helpers for the ProConnect tests (tests/oidc)."""

from urllib.parse import urljoin

import requests


def through_provider(client, start_path):
    """Starts a sign-in at `start_path` with the Django test client, lets the provider's automatic
    interactions run (a real HTTP session with its cookies), and returns the Django response to
    ProConnect's redirect back (the callback)."""
    response = client.get(start_path)
    assert response.status_code == 302, response
    url = response["Location"]
    with requests.Session() as browser:
        for _ in range(10):
            if url.startswith("http://testserver/"):
                return client.get(url.removeprefix("http://testserver"))
            answer = browser.get(url, allow_redirects=False, timeout=10)
            assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
            url = urljoin(url, answer.headers["Location"])
    raise AssertionError("too many redirects at the provider")
