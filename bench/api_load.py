"""The load side of `make bench`: the services it needs (PostgreSQL, Redis, wrk), the bench database,
gunicorn on loopback, wrk runs, CPU metering of the workers and database backends, and the in-process
figures (admin pages, SQL queries per API request). Driven by bench/api_bench.py."""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/segur_bench"
REDIS_URL = "redis://127.0.0.1:6379"
MEDIA_ROOT = Path(os.environ.get("BENCH_MEDIA_ROOT", "/tmp/segur-bench/media"))  # noqa: S108 (bench scratch)
# Far above anything two cores can serve: the limiter still runs (a Redis round trip per request)
# but never answers 429 during the run.
THROTTLE_SIMULATE = "1000000/second"
SIMULATE_BODY = json.dumps({"schedule": "segur-2023", "counts": {"APP": 120, "ORG": 2400, "PER": 18000}})


def log(message):
    print(message, flush=True)


# --- Environment ----------------------------------------------------------------------------------


def app_environment(database_url):
    """The environment of the bench server (and of this process): production-like, loopback only."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        # Constant: the loaded data is reused across runs and its chains are sealed with this key.
        "AUDIT_KEY": "bench-only-audit-key-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "CELERY_BROKER_URL": f"{REDIS_URL}/13",
        "CACHE_URL": f"{REDIS_URL}/14",
        "THROTTLE_SIMULATE": THROTTLE_SIMULATE,
        "MEDIA_ROOT": str(MEDIA_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "SECURE_SSL_REDIRECT": "0",
    }


# --- Services -------------------------------------------------------------------------------------


def run(command, **kwargs):
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, **kwargs)  # noqa: S603


def _postgres_ready():
    return run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


def _redis_ready():
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _wait(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def ensure_services(stack):
    """Start PostgreSQL and Redis as .ci/run does when they are down; stop at the end what we started."""
    if not _postgres_ready():
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        log(f"PostgreSQL is down: starting cluster {version}/main for the run")
        run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        if not _wait(_postgres_ready, 30):
            raise SystemExit("PostgreSQL does not answer on 127.0.0.1:5432")
        stack.callback(run, ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"])
    if not _redis_ready():
        log("Redis is down: starting one on 127.0.0.1:6379 for the run")
        run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", ""])
        if not _wait(_redis_ready, 15):
            raise SystemExit("Redis does not answer on 127.0.0.1:6379")
        stack.callback(run, ["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"])
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (the Makefile's bench target does it)")


def ensure_database(database_url, *, fresh):
    """Create (or, with `fresh`, recreate) the benchmark database; return True when it was created."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in ("segur", "postgres", "segur_dev"):
        raise SystemExit(f"refusing to use database {name!r} for the benchmark")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return not exists


# --- Admin and per-request query counts (in process) -----------------------------------------------


def _timed(client, url, *, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True)  # warm-up (templates, caches, PostgreSQL buffers)
    durations = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            durations.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code} in process")
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    return {
        "url": url,
        "median_ms": statistics.median(durations),
        "max_ms": max(durations),
        "queries": len(queries.captured_queries),
        "sql_ms": sql_ms,
    }


def admin_figures(runs=5):
    from django.contrib.auth.models import User
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from claims.models import Claim
    from operators.models import Operator

    client = Client()
    client.force_login(User.objects.get(username="bench-instructeur-1"))
    changelist = reverse("admin:claims_claim_changelist")
    siren = Operator.objects.filter(legal_name__startswith="Bench ").order_by("pk")[7].siren
    # The claim with the longest history: the heaviest change page.
    busiest = Claim.objects.annotate(n=Count("events")).order_by("-n", "pk").values_list("pk", flat=True)[0]
    pages = [
        ("changelist", changelist),
        ("changelist, state = submitted", f"{changelist}?state__exact=submitted"),
        ("changelist, overdue + advance", f"{changelist}?overdue=yes&kind__exact=advance"),
        ("changelist, search by SIREN", f"{changelist}?q={siren}"),
        ("changelist, page 200", f"{changelist}?p=200"),
        ("claim change page", reverse("admin:claims_claim_change", args=[busiest])),
    ]
    return [{"name": name, **_timed(client, url, runs=runs)} for name, url in pages]


def api_queries(token, targets):
    """SQL queries per request of each measured endpoint (in process, same database)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    counts = {}
    for target in targets:
        client = APIClient()
        if target["auth"]:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        call = client.post if target["method"] == "POST" else client.get
        kwargs = {"data": target["body"], "content_type": "application/json"} if target["body"] else {}
        call(target["path"], secure=True, **kwargs)
        with CaptureQueriesContext(connection) as queries:
            response = call(target["path"], secure=True, **kwargs)
        if response.status_code != 200:
            raise SystemExit(f"{target['path']} answered {response.status_code} in process")
        counts[target["name"]] = len(queries.captured_queries)
    return counts


# --- CPU accounting: what each request costs, whatever else runs on the machine -------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid):
    """User + system CPU time of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(parent):
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(entry.name))
    return pids


def machine_busy(seconds=2.0):
    """Share of all CPUs busy over `seconds` (from /proc/stat), 0–1."""

    def sample():
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total_0, idle_0 = sample()
    time.sleep(seconds)
    total_1, idle_1 = sample()
    return 1 - (idle_1 - idle_0) / max(1, total_1 - total_0)


def wait_until_quiet(limit_seconds, threshold=0.25):
    """Wait (bounded) until other processes leave the CPUs mostly idle; return the last busy share."""
    deadline = time.monotonic() + limit_seconds
    busy = machine_busy()
    while busy > threshold and time.monotonic() < deadline:
        log(f"  machine {busy:.0%} busy with other work: waiting (at most {limit_seconds} s in all)")
        time.sleep(3)
        busy = machine_busy()
    return busy


class CpuMeter:
    """CPU seconds used by the gunicorn workers and by the PostgreSQL backends of the bench database.

    Wall-clock figures depend on whatever else the machine runs; CPU per request does not, so
    the report gives both.
    """

    def __init__(self, master_pid, database_url):
        import psycopg

        self.master_pid = master_pid
        self.conn = psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True)

    def _backends(self):
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        return [row[0] for row in self.conn.execute(query).fetchall()]

    def snapshot(self):
        app = {pid: _cpu_seconds(pid) for pid in _children(self.master_pid)}
        db = {pid: _cpu_seconds(pid) for pid in self._backends()}
        return app, db

    @staticmethod
    def used(before, after):
        """CPU seconds between two snapshots (a process started in between counts whole)."""
        return tuple(
            sum(max(0.0, seconds - start.get(pid, 0.0)) for pid, seconds in end.items())
            for start, end in zip(before, after, strict=True)
        )

    def close(self):
        self.conn.close()


# --- Server and load ---------------------------------------------------------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env, workers):
    """gunicorn on 127.0.0.1 with `workers` sync workers; always stopped on the way out."""
    port = _free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--backlog=2048",
        "--timeout=30",
        "--graceful-timeout=5",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:

        def up():
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited with code {server.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310 (loopback)
                    return response.status == 200
            except OSError:
                return False

        if not _wait(up, 60):
            raise SystemExit("gunicorn did not answer /healthz within 60 s")
        log(f"gunicorn up on {base} ({workers} sync workers)")
        yield base, server.pid
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
        log("gunicorn stopped")


def wrk(url, *, connections, duration, target, tokens_file):
    env = {
        **os.environ,
        "BENCH_METHOD": target["method"],
        "BENCH_BODY": target["body"] or "",
        "BENCH_CONTENT_TYPE": "application/json" if target["body"] else "",
        "BENCH_TOKENS": str(tokens_file) if target["auth"] else "",
    }
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout=10s"]
    command += ["-s", str(BENCH_DIR / "wrk_report.lua"), url + target["path"]]
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    line = next((li for li in done.stdout.splitlines() if li.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {target['path']}: {done.stdout[-500:]} {done.stderr[-500:]}")
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def targets(filtered_query):
    """What is measured: the bare baseline, the public simulator, an operator's claims list and a filter."""
    filtered = f"/api/v1/claims/?{filtered_query}"
    return [
        {"name": "healthz", "label": "GET /healthz (baseline)", "method": "GET", "path": "/healthz"},
        {
            "name": "simulate",
            "label": "POST /api/v1/funding/simulate",
            "method": "POST",
            "path": "/api/v1/funding/simulate",
        },
        {"name": "claims", "label": "GET /api/v1/claims/", "method": "GET", "path": "/api/v1/claims/", "auth": True},
        {"name": "claims_filtered", "label": f"GET {filtered}", "method": "GET", "path": filtered, "auth": True},
    ]
