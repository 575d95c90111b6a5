"""The deployment files hold together: the systemd units are valid for systemd (systemd-analyze verify,
with this checkout and its virtualenv standing for /srv/segur/app) and run the Procfile's commands."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def procfile():
    lines = (DEPLOY / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_procfile_declares_web_worker_beat_and_release():
    entries = procfile()

    assert set(entries) == {"release", "web", "worker", "beat"}
    assert entries["web"].startswith("gunicorn -c deploy/gunicorn.conf.py ")
    assert entries["worker"].startswith("celery -A config worker ")
    assert entries["beat"].startswith("celery -A config beat ")
    assert "migrate" in entries["release"] and "collectstatic" in entries["release"]


def test_systemd_units_run_the_procfile_commands():
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("*.service")}
    execs = {name: re.findall(r"^ExecStart=\S+/(?:\.venv/bin/)(\S+ .*)$", text, re.M) for name, text in units.items()}
    entries = procfile()

    assert execs["segur-web@.service"] == ["gunicorn -c deploy/gunicorn.conf.py --bind 127.0.0.1:%i"]
    assert execs["segur-worker.service"][0].split(" --concurrency")[0] == entries["worker"].split(" --concurrency")[0]
    assert execs["segur-beat.service"][0].split(" --schedule")[0] == entries["beat"].split(" --schedule")[0]
    # Each web instance gets a metrics directory of its own, emptied by systemd.
    assert "RuntimeDirectory=segur-web-%i" in units["segur-web@.service"]
    assert "PROMETHEUS_MULTIPROC_DIR=/run/segur-web-%i" in units["segur-web@.service"]


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text().replace("/srv/segur/app/.venv/bin", str(Path(sys.executable).parent))
        text = text.replace("/srv/segur/app", str(ROOT)).replace(
            "/etc/segur/segur.env", str(DEPLOY / "segur.env.example")
        )
        name = unit.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(text)

    done = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(p.name for p in tmp_path.iterdir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0 and done.stderr == "", done.stderr
