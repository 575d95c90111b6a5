"""`make bench`: the API and the admin measured under gunicorn, PostgreSQL and Redis at a realistic size.

One run, bounded in time, that stops by itself and leaves no server behind:

1. PostgreSQL database `segur_bench` (created and migrated when missing), loaded once by
   bench/api_data.py (≥ 300 operators, ≥ 100 000 claims with their hash-chained events,
   documents and payments); later runs reuse it (`--fresh` drops and reloads it).
2. The admin claim changelist and claim change page, in process (Django test client), timed
   with their SQL query count; the query count of each API request measured below.
3. gunicorn on 127.0.0.1 (a free port) with Redis as Celery broker and cache (throttling
   counters shared by the workers, as in production); the simulator's rate limit is raised
   through THROTTLE_SIMULATE so that throttling never answers during the run.
4. wrk (Debian) against 127.0.0.1 only: for each endpoint and each concurrency, a fixed
   duration; throughput and p50/p95/p99 latency, and the ratios to `/healthz` (a bare Django
   JSON view on the same server) measured in the same run.
5. The table is printed and written into bench/RESULTS.md (its own section, between markers).

Usage: `python -m bench.api_bench [--duration 10] [--concurrency 1,10,50] [--workers N] [--fresh]
[--no-record]`. Nothing here is part of the test suite.
"""

import argparse
import contextlib
import json
import os
import platform
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
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/segur_bench"
REDIS_URL = "redis://127.0.0.1:6379"
MEDIA_ROOT = Path(os.environ.get("BENCH_MEDIA_ROOT", "/tmp/segur-bench/media"))  # noqa: S108 (bench scratch)
RESULTS = BENCH_DIR / "RESULTS.md"
START_MARK = "<!-- api-bench:start (written by `make bench`, bench/api_bench.py) -->"
END_MARK = "<!-- api-bench:end -->"
# Far above anything two cores can serve: the limiter still runs (a Redis round trip per request)
# but never answers 429 during the run.
THROTTLE_SIMULATE = "1000000/second"
SIMULATE_BODY = json.dumps({"schedule": "segur-2023", "counts": {"APP": 120, "ORG": 2400, "PER": 18000}})


def log(message):
    print(message, flush=True)


# --- Configuration ------------------------------------------------------------------------------


def parse_args(argv=None):
    cpus = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--concurrency", default=os.environ.get("BENCH_CONCURRENCY", "1,10,50"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", str(2 * cpus + 1))))
    parser.add_argument("--operators", type=int, default=320)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true", help="drop and reload the benchmark database")
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument(
        "--quiet-wait", type=int, default=60, help="wait at most this long for an idle machine before the HTTP runs"
    )
    parser.add_argument(
        "--verify-audit", action="store_true", help="also run manage.py verify_audit over every chain (minutes)"
    )
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.duration < 1 or args.duration > 60 or not args.concurrency or max(args.concurrency) > 200:
        parser.error("duration 1–60 s per point, concurrency at most 200")
    return args


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


def _run(command, **kwargs):
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, **kwargs)  # noqa: S603


def _postgres_ready():
    return _run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


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
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        if not _wait(_postgres_ready, 30):
            raise SystemExit("PostgreSQL does not answer on 127.0.0.1:5432")
        stack.callback(_run, ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"])
    if not _redis_ready():
        log("Redis is down: starting one on 127.0.0.1:6379 for the run")
        _run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", ""])
        if not _wait(_redis_ready, 15):
            raise SystemExit("Redis does not answer on 127.0.0.1:6379")
        stack.callback(_run, ["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"])
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


# --- Report -------------------------------------------------------------------------------------------


def machine_description(args):
    import gunicorn as gunicorn_package
    from django.db import connection

    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                li.split(":", 1)[1].strip()
                for li in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in li
            ),
            "",
        )
    memory = ""
    with contextlib.suppress(OSError, StopIteration):
        kb = int(
            next(li for li in Path("/proc/meminfo").read_text().splitlines() if li.startswith("MemTotal")).split()[1]
        )
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import redis

    redis_version = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    wrk_version = _run(["wrk", "--version"]).stdout.split()[1] if shutil.which("wrk") else "?"
    import django

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgres": postgres,
        "redis": redis_version,
        "gunicorn": f"{gunicorn_package.__version__}, {args.workers} sync workers",
        "wrk": wrk_version,
    }


def data_sizes():
    from django.contrib.auth.models import User

    from claims.models import Claim, ClaimEvent, Document, Payment
    from funding.models import Campaign
    from operators.models import Membership, Operator

    models = [
        ("operators", Operator),
        ("users", User),
        ("memberships", Membership),
        ("campaigns", Campaign),
        ("claims", Claim),
        ("events", ClaimEvent),
        ("documents", Document),
        ("payments", Payment),
    ]
    return {name: model.objects.count() for name, model in models}


def _ms(us):
    return f"{us / 1000:.1f}"


def render(*, when, args, machine, sizes, api, queries, admin, load_seconds):
    lines = [
        f"### API and admin at {sizes['claims']:,} claims — {when:%Y-%m-%d %H:%M} UTC".replace(",", " "),
        "",
        f"Machine: {machine['cpus']} CPU ({machine['cpu'] or 'unknown model'}), {machine['memory']} RAM, "
        f"{machine['os']}; Python {machine['python']}, Django {machine['django']}, PostgreSQL {machine['postgres']}, "
        f"Redis {machine['redis']}, gunicorn {machine['gunicorn']}, wrk {machine['wrk']} (load generator on the "
        "same machine, so it shares the CPUs with the server and the database). Before the HTTP runs the CPUs "
        f"were {machine['busy_before']:.0%} busy with other work (load average {machine['load'][0]:.1f}; "
        f"{machine['load'][1]:.1f} after): when other processes compete, wall-clock figures are pessimistic and "
        "the CPU-per-request column is the one to compare.",
        "",
        "Data: "
        + ", ".join(f"{count:,} {name}".replace(",", " ") for name, count in sizes.items())
        + (f" (loaded in {load_seconds:.0f} s)." if load_seconds else " (loaded by an earlier run)."),
        "",
        f"Load: wrk, {args.duration} s per point after a warm-up, 1–2 threads, keep-alive refused by the sync "
        f"workers (a connection per request); claims lists with the tokens of {sizes['operators']} operators in "
        f"turn; THROTTLE_SIMULATE={THROTTLE_SIMULATE} and Redis cache for the limiter. × = throughput relative to "
        "`/healthz` at the same concurrency; latency in ms; CPU ms/req = CPU time of the gunicorn workers and of "
        "the PostgreSQL backends divided by the requests served (what a request costs, whatever else runs).",
        "",
        "| endpoint | SQL/req | clients | req/s | × healthz | p50 | p95 | p99 | CPU ms/req app + db | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target in api:
        for figures in target["points"]:
            base = next(p for p in api[0]["points"] if p["connections"] == figures["connections"])
            errors = figures["non_200"] + sum(figures["errors"].values())
            lines.append(
                f"| {target['label']} | {queries.get(target['name'], '—')} | {figures['connections']} "
                f"| {figures['rps']:.0f} | {figures['rps'] / base['rps']:.2f} "
                f"| {_ms(figures['latency_us']['p50'])} | {_ms(figures['latency_us']['p95'])} "
                f"| {_ms(figures['latency_us']['p99'])} | {figures['app_cpu_ms']:.1f} + {figures['db_cpu_ms']:.1f} "
                f"| {errors} |"
            )
    lines += [
        "",
        "Admin (in process, Django test client as an instructor, same database; median of 5 after a warm-up):",
        "",
        "| page | median ms | max ms | SQL queries | SQL ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for page in admin:
        lines.append(
            f"| {page['name']} (`{page['url']}`) | {page['median_ms']:.0f} | {page['max_ms']:.0f} "
            f"| {page['queries']} | {page['sql_ms']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def record(section):
    """Write `section` into bench/RESULTS.md between the markers (added at the end the first time)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{START_MARK}\n## API and admin under load (`make bench`)\n\n{section}\n{END_MARK}\n"
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        text = head + block + "\n" + rest.split(END_MARK, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def _interrupt(signum, frame):
    """SIGTERM (a timeout, a stopped job) unwinds like Ctrl-C, so the server is always stopped."""
    raise KeyboardInterrupt


# --- Main ----------------------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    env = app_environment(database_url)
    os.environ.update(env)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as stack:
        ensure_services(stack)
        created = ensure_database(database_url, fresh=args.fresh)
        import django
        from django.core.management import call_command

        django.setup()
        from bench import api_data

        log(f"database {database_url.rsplit('/', 1)[1]}: {'created' if created else 'reused'}; migrating")
        call_command("migrate", interactive=False, verbosity=0)
        MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
        api_data.shared_pdf()
        scale = api_data.Scale(operators=args.operators, claims=args.claims)
        load_seconds = None
        if not api_data.is_loaded(scale):
            if not created:
                raise SystemExit("segur_bench holds other data: run `make bench BENCH_ARGS=--fresh` to reload it")
            log(f"loading {scale.operators} operators and {scale.claims} claims…")
            load_started = time.monotonic()
            log(f"  {api_data.load(scale, log=log)}")
            load_seconds = time.monotonic() - load_started
            log(f"  loaded in {load_seconds:.0f} s")
        if args.verify_audit:
            log("verify_audit over every claim's chain…")
            call_command("verify_audit")
        sizes = data_sizes()
        machine = machine_description(args)

        from django.db import connection

        from operators.models import ApiToken, Membership
        from operators.services import api_token_issue

        # Tokens expire (API_TOKEN_TTL_HOURS) and only their hash is stored: fresh ones for this run,
        # one for the first member of each operator.
        ApiToken.objects.filter(user__username__startswith="bench-op-").delete()
        first_members = {}
        for membership in Membership.objects.filter(user__username__startswith="bench-op-").select_related("user"):
            current = first_members.get(membership.operator_id)
            if current is None or membership.user.username < current.username:
                first_members[membership.operator_id] = membership.user
        users = sorted(first_members.values(), key=lambda user: user.username)
        tokens = [api_token_issue(user=user, name="bench")[1] for user in users]
        tokens_file = MEDIA_ROOT.parent / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        campaign = api_data.Campaign.objects.filter(code__startswith=api_data.CAMPAIGN_PREFIX).order_by("code")[0]
        filtered_query = f"state=paid&kind=advance&campaign={campaign.code}"
        plan = [{"auth": False, "body": None, **target} for target in targets(filtered_query)]
        plan[1]["body"] = SIMULATE_BODY

        log("admin pages and query counts (in process)…")
        admin = admin_figures()
        queries = api_queries(tokens[7], plan)
        connection.close()  # the server's workers get the database to themselves

        api = []
        busy_before = wait_until_quiet(args.quiet_wait)
        load_before = os.getloadavg()[0]
        with gunicorn({**os.environ, **env}, args.workers) as (base, master_pid):
            for target in plan:
                # Warm-up: every worker imports, connects and fills its caches before the figures.
                wrk(base, connections=args.workers * 2, duration=2, target=target, tokens_file=tokens_file)
            meter = CpuMeter(master_pid, database_url)
            stack.callback(meter.close)
            for target in plan:
                points = []
                for connections in args.concurrency:
                    log(f"  {target['label']} × {connections} clients, {args.duration} s")
                    before = meter.snapshot()
                    figures = wrk(
                        base, connections=connections, duration=args.duration, target=target, tokens_file=tokens_file
                    )
                    app_cpu, db_cpu = meter.used(before, meter.snapshot())
                    figures["connections"] = connections
                    figures["app_cpu_ms"] = app_cpu * 1000 / max(1, figures["requests"])
                    figures["db_cpu_ms"] = db_cpu * 1000 / max(1, figures["requests"])
                    points.append(figures)
                api.append({**target, "points": points})
        machine["load"] = (load_before, os.getloadavg()[0])
        machine["busy_before"] = busy_before
        section = render(
            when=datetime.now(UTC),
            args=args,
            machine=machine,
            sizes=sizes,
            api=api,
            queries=queries,
            admin=admin,
            load_seconds=load_seconds,
        )
    print()
    print(section)
    if not args.no_record:
        record(section)
        log(f"written to {RESULTS.relative_to(ROOT)}")
    log(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
