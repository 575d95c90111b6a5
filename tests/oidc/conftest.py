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

import pytest
import requests

from tests.oidc.support import LOGOUT_CALLBACK

HERE = Path(__file__).parent
CLIENT_ID = "segur-test-client"
CLIENT_SECRET = "segur-test-secret-" + "x" * 32
CALLBACK = "http://testserver/proconnect/retour/"


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
