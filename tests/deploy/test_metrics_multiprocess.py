"""/metrics under several processes (gunicorn workers): with PROMETHEUS_MULTIPROC_DIR each process writes
its counters there and /metrics sums them; deploy/gunicorn.conf.py prepares and cleans that directory."""

import os
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def count_requests_in_a_process(directory, n):
    """A separate Python process (as a gunicorn worker is) answering `n` /healthz requests."""
    code = textwrap.dedent(
        f"""
        import django
        django.setup()
        from django.test import Client
        for _ in range({n}):
            assert Client().get("/healthz").status_code == 200
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env["ALLOWED_HOSTS"] = "testserver"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)


def healthz_count(text):
    for line in text.splitlines():
        if line.startswith("segur_http_requests_total{") and 'route="healthz"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.process
def test_metrics_sum_the_counters_of_every_process(client, settings, monkeypatch, tmp_path):
    settings.METRICS_TOKEN = "scraper-token"
    count_requests_in_a_process(tmp_path, 3)
    count_requests_in_a_process(tmp_path, 4)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scraper-token")

    assert response.status_code == 200
    text = response.content.decode()
    assert healthz_count(text) == 7
    # The gauges read from the database are still there.
    assert "segur_payment_batches_pending" in text


@pytest.mark.process
def test_without_the_directory_metrics_are_this_process_only(client, settings, monkeypatch, tmp_path):
    settings.METRICS_TOKEN = "scraper-token"
    count_requests_in_a_process(tmp_path, 3)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    before = healthz_count(client.get("/metrics", HTTP_AUTHORIZATION="Bearer scraper-token").content.decode())

    client.get("/healthz")

    after = healthz_count(client.get("/metrics", HTTP_AUTHORIZATION="Bearer scraper-token").content.decode())
    assert after == before + 1


def test_gunicorn_config_empties_the_directory_at_start_and_drops_a_dead_workers_live_gauges(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    (tmp_path / "metrics").mkdir()
    stale = tmp_path / "metrics" / "counter_999.db"
    stale.write_bytes(b"old run")

    config["on_starting"](server=None)
    assert not stale.exists()

    live = tmp_path / "metrics" / "gauge_livesum_4242.db"
    kept = tmp_path / "metrics" / "counter_4242.db"
    live.write_bytes(b"")
    kept.write_bytes(b"")
    config["child_exit"](server=None, worker=SimpleNamespace(pid=4242))
    assert not live.exists()
    assert kept.exists()  # a dead worker's requests still count
