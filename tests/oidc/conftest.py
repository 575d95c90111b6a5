"""A real OpenID Connect provider for the ProConnect tests: panva's oidc-provider (tests/oidc/provider.mjs,
pinned by package-lock.json) run with Node, configured like ProConnect (signed userinfo, `acr`, its claims).

`oidc_provider` (session): starts it (running `npm ci` first when node_modules is missing) and gives
`.issuer` and `.next_login(**claims)` (the account the provider's automatic login signs in next).
Without Node or npm the tests are skipped — unless CI is set, where they fail (.ci/run runs `npm ci`).
`proconnect` (per test): the Django settings pointing at it.
"""

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

HERE = Path(__file__).parent
CLIENT_ID = "segur-test-client"
CLIENT_SECRET = "segur-test-secret-" + "x" * 32
CALLBACK = "http://testserver/proconnect/retour/"
LOGOUT_CALLBACK = "http://testserver/proconnect/deconnexion/"


def _unavailable(reason):
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} — CI is set, so the OIDC tests must run (.ci/run runs npm ci in tests/oidc).")
    pytest.skip(reason)


class Provider:
    def __init__(self, issuer):
        self.issuer = issuer

    def next_login(self, **account):
        requests.post(f"{self.issuer}/__test/next-login", json=account, timeout=5).raise_for_status()

    def logouts(self):
        """The sign-outs the provider completed: [{"accountId": sub, "clientId": …}]."""
        answer = requests.get(f"{self.issuer}/__test/logouts", timeout=5)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture(scope="session")
def oidc_provider():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("Node.js and npm are needed for the OIDC provider")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, capture_output=True, text=True, timeout=300
        )
        if done.returncode:
            _unavailable(f"npm ci failed in tests/oidc: {done.stderr[-500:]}")
    env = {
        **os.environ,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": CALLBACK,
        "POST_LOGOUT_REDIRECT_URIS": LOGOUT_CALLBACK,
    }
    process = subprocess.Popen(
        [node, str(HERE / "provider.mjs")],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("listening "):
            pytest.fail(f"the OIDC provider did not start: {line!r}")
        yield Provider(line.split(" ", 1)[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture
def proconnect(settings, oidc_provider):
    settings.PROCONNECT_ISSUER = oidc_provider.issuer
    settings.PROCONNECT_CLIENT_ID = CLIENT_ID
    settings.PROCONNECT_CLIENT_SECRET = CLIENT_SECRET
    return oidc_provider


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
