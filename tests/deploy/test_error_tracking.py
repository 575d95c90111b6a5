"""SENTRY_DSN turns error tracking on (Django and Celery integrations, no personal data); without it
sentry-sdk is not even imported. Checked in a fresh process, as the settings run once per process."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    state = {"imported": "sentry_sdk" in sys.modules}
    if state["imported"]:
        import sentry_sdk
        client = sentry_sdk.get_client()
        state.update(
            active=client.is_active(),
            pii=client.options["send_default_pii"],
            environment=client.options["environment"],
            integrations=sorted(client.integrations),
        )
    print(json.dumps(state))
    """
)


def settings_in_a_fresh_process(**env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.process
def test_sentry_is_initialised_with_a_dsn_without_personal_data():
    # A DSN on a closed local port: initialising sends nothing.
    state = settings_in_a_fresh_process(SENTRY_DSN="http://public-key@127.0.0.1:9/1", SENTRY_ENVIRONMENT="recette")

    assert state["active"] is True
    assert state["pii"] is False
    assert state["environment"] == "recette"
    assert {"django", "celery"} <= set(state["integrations"])


@pytest.mark.process
def test_without_a_dsn_sentry_is_not_even_imported():
    assert settings_in_a_fresh_process() == {"imported": False}
