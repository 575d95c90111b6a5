"""`make stack-check`: the deployment recipe run for real on this machine, then a smoke scenario across it.

Starts (or uses) PostgreSQL and Redis, creates a fresh database `segur_stack`, runs the Procfile's
`release` (migrate, collectstatic), loads the demo data, then starts the Procfile's processes with DEBUG=0:
two `web` instances on two ports (gunicorn, 2 workers each), one `worker`, one `beat`. The scenario:

- op-alpha signs in on instance A (the portal's login form, CSRF included);
- with that same session, on instance B: an advance on `demo-open`, a PDF proof uploaded, the claim submitted;
- instance A reads the claim back through the API (session authentication): submitted;
- the worker sends the submission's e-mail (Django's file-based backend: a file appears in a temp dir);
- /readyz answers 200 on both instances, with the database, the cache and the broker up;
- a static file is served by the app itself (WhiteNoise: hashed name, gzip, cached for a year);
- /metrics of instance A sums the requests answered by its two workers;
- beat sends its overdue `notification-outbox` job and the worker receives it (beat's schedule file is
  prepared as if beat had been stopped ten minutes, so the 5-minute job is due at once, as after any restart).

Every check is printed on its own line; the first failure stops the run (exit 1) with the tail of the
logs. Everything started here is stopped on exit, failure or Ctrl-C included (and PostgreSQL or Redis
too when this script had to start them).

Antivirus hook: with CLAMD_ADDRESS set, uploaded proofs are scanned by the worker before they count; the
scenario then retries the submission until the scan has passed (up to SCAN_WAIT seconds) instead of
expecting it to succeed at once.

Environment: STACK_DATABASE (default segur_stack), STACK_POSTGRES (postgres://postgres@127.0.0.1:5432),
STACK_REDIS_URL (redis://127.0.0.1:6379/12: broker and cache; the db is flushed first), STACK_KEEP=1 keeps
the temp dir (logs, e-mails) for inspection.
"""

# A local operations script: it runs this machine's own commands and talks HTTP to 127.0.0.1 only.
# ruff: noqa: S603, S607, S310

import base64
import email
import email.policy
import hashlib
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE = os.environ.get("STACK_DATABASE", "segur_stack")
POSTGRES = os.environ.get("STACK_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("STACK_REDIS_URL", "redis://127.0.0.1:6379/12")
SCAN_WAIT = int(os.environ.get("SCAN_WAIT", "60"))
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


class CheckFailed(Exception):
    pass


def say(text):
    print(text, flush=True)


def ok(text):
    say(f"  ok  {text}")


def check(condition, text, detail=""):
    if not condition:
        raise CheckFailed(f"{text}{': ' + detail if detail else ''}")
    ok(text)


def wait_until(predicate, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Services ------------------------------------------------------------------------------------------


class Stack:
    """What this run started, stopped in reverse order by `stop()`."""

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="segur-stack-"))
        self.processes = []  # (name, Popen, log path)
        self.cleanups = []

    def start(self, name, command, env):
        log_path = self.workdir / f"{name}.log"
        log = log_path.open("wb")
        # Each process leads its own process group: stopping it stops its children (gunicorn and celery
        # workers) too. bash runs the Procfile line as written (its ${VAR:-default} expansions).
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append((name, process, log_path))
        return process

    def log(self, name):
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        for _name, process, _log in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process, _log in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                say(f"  ..  {name} did not stop in 20 s: killed")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for cleanup in reversed(self.cleanups):
            cleanup()


def run(command, env=None, timeout=300):
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise CheckFailed(f"{' '.join(command)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done.stdout


def postgres_up(stack):
    url = urllib.parse.urlsplit(POSTGRES)
    host, port = url.hostname or "127.0.0.1", str(url.port or 5432)
    ready = ["pg_isready", "-q", "-h", host, "-p", port]
    if subprocess.run(ready).returncode != 0:
        clusters = sorted(Path("/etc/postgresql").glob("*/main"))
        if not clusters:
            raise CheckFailed("PostgreSQL is not running and no local cluster was found to start")
        version = clusters[-1].parent.name
        say(f"  ..  starting PostgreSQL {version}")
        run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        stack.cleanups.append(
            lambda: subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"])
        )
        check(wait_until(lambda: subprocess.run(ready).returncode == 0, 30), "PostgreSQL started")
    else:
        ok(f"PostgreSQL answers on {host}:{port}")


def redis_up(stack):
    url = urllib.parse.urlsplit(REDIS_URL)
    host, port = url.hostname or "127.0.0.1", str(url.port or 6379)
    ping = ["redis-cli", "-h", host, "-p", port, "ping"]

    def answers():
        return subprocess.run(ping, capture_output=True, text=True).stdout.strip() == "PONG"

    if not answers():
        say("  ..  starting Redis")
        run(["redis-server", "--daemonize", "yes", "--bind", host, "--port", port, "--save", "", "--appendonly", "no"])
        stack.cleanups.append(lambda: subprocess.run(["redis-cli", "-h", host, "-p", port, "shutdown", "nosave"]))
        check(wait_until(answers, 30), "Redis started")
    else:
        ok(f"Redis answers on {host}:{port}")
    db = (url.path or "/0").lstrip("/") or "0"
    run(["redis-cli", "-h", host, "-p", port, "-n", db, "flushdb"])
    ok(f"Redis db {db} emptied (broker and cache of this run)")


def fresh_database():
    admin = f"{POSTGRES}/postgres"
    run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'])
    run(["psql", admin, "-qc", f'CREATE DATABASE "{DATABASE}"'])
    ok(f"fresh database {DATABASE}")


def procfile():
    entries = {}
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def environment(workdir):
    """DEBUG=0 and production settings, loosened only where plain local HTTP needs it."""
    env = {
        **os.environ,
        "PATH": f"{Path(PYTHON).parent}:{os.environ.get('PATH', '')}",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUDIT_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": f"{POSTGRES}/{DATABASE}",
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(workdir / "mail"),
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "STATIC_MANIFEST": "1",
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "CELERY_BEAT_SCHEDULE": str(workdir / "celerybeat-schedule"),
        "CELERY_CONCURRENCY": "1",
        "WEB_CONCURRENCY": "2",
        "COMPANY_API_URL": "",  # no network here
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("SENTRY_DSN", "PROMETHEUS_MULTIPROC_DIR", "PORT"):
        env.pop(name, None)
    return env


def overdue_beat_schedule(env):
    """Beat's schedule file as left by a beat stopped ten minutes ago: the 5-minute outbox job is due."""
    code = """
import os
from datetime import timedelta
from celery.beat import PersistentScheduler
from config.celery import app
scheduler = PersistentScheduler(app=app, schedule_filename=os.environ["CELERY_BEAT_SCHEDULE"])
entry = scheduler.schedule["notification-outbox"]
entry.last_run_at = app.now() - timedelta(minutes=10)
scheduler.close()
"""
    run([PYTHON, "-c", code], env=env)


# --- HTTP ----------------------------------------------------------------------------------------------


class Browser:
    """One cookie jar (the portal session) used against both instances: cookies belong to the host, not
    the port, exactly as a browser behind a load balancer keeps one session for every instance."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, url, data=None, headers=None, files=None):
        headers = dict(headers or {})
        body = None
        if files is not None:
            body, content_type = multipart(data or {}, files)
            headers["Content-Type"] = content_type
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def csrf(self):
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return None, {}, b""


# --- The scenario --------------------------------------------------------------------------------------


def scenario(stack, env, a, b):
    browser = Browser()
    say("Sign in on A, file on B with the same session")
    status, _, _ = browser.request(f"{a}/portail/connexion/")
    check(status == 200 and browser.csrf(), "A: login page served with a CSRF cookie")
    status, headers, _ = browser.request(
        f"{a}/portail/connexion/",
        data={"username": "op-alpha", "password": "demo-password", "csrfmiddlewaretoken": browser.csrf()},
        headers={"Referer": f"{a}/portail/connexion/"},
    )
    check(status == 302 and headers.get("Location") == "/portail/", "A: op-alpha signed in (portal session)")

    status, _, page = browser.request(f"{b}/portail/")
    check(status == 200 and "Se déconnecter" in page.decode(), "B: the same session is signed in on B")

    def post_b(path, data, files=None):
        data = {**data, "csrfmiddlewaretoken": browser.csrf()}
        return browser.request(f"{b}{path}", data=data, files=files, headers={"Referer": f"{b}/portail/"})

    status, headers, _ = post_b("/portail/demandes/nouvelle/", {"campaign": "demo-open", "kind": "advance"})
    match = re.fullmatch(r"/portail/demandes/(\d+)/", headers.get("Location", ""))
    check(status == 302 and match, "B: advance created on demo-open", f"{status} {headers.get('Location')}")
    claim = match.group(1)

    status, headers, _ = post_b(
        f"/portail/demandes/{claim}/pieces/",
        {"kind": "conformity_report"},
        files={"file": ("rapport-conformite.pdf", PDF, "application/pdf")},
    )
    check(status == 302, f"B: PDF proof uploaded to claim {claim}", str(status))

    def state_on_a():
        status, _, body = browser.request(f"{a}/api/v1/claims/{claim}", headers={"Accept": "application/json"})
        return json.loads(body)["state"] if status == 200 else f"HTTP {status}"

    def submit():
        post_b(f"/portail/demandes/{claim}/deposer/", {})
        return state_on_a() == "submitted"

    if env.get("CLAMD_ADDRESS"):
        say(f"  ..  CLAMD_ADDRESS is set: waiting up to {SCAN_WAIT} s for the proof's scan before the submission")
        check(wait_until(submit, SCAN_WAIT, interval=2), "B: claim submitted once the proof was scanned clean")
    else:
        check(submit(), "B: claim submitted")
    check(state_on_a() == "submitted", "A: the API (same session) reads the claim as submitted")

    say("Worker and beat")
    mail = Path(env["EMAIL_FILE_PATH"])

    def mails():
        """(subject, body) of every message the file-based backend wrote (files of one or more messages)."""
        found = []
        for path in sorted(mail.glob("*")) if mail.is_dir() else []:
            for raw in path.read_bytes().split(b"-" * 79):
                if raw.strip():
                    message = email.message_from_bytes(raw.strip(), policy=email.policy.default)
                    found.append((str(message["Subject"]), message.get_body().get_content()))
        return found

    def submission_mail():
        return any(f"n° {claim} " in subject and "Déposée" in subject for subject, _ in mails())

    sent = wait_until(submission_mail, 60)
    check(sent, "worker: the submission's e-mail was sent (file-based backend)", f"{len(mails())} file(s)")
    say(f"        {len(mails())} e-mail(s) written, the demo's older events' among them (outbox job below)")
    check(
        wait_until(lambda: "Sending due task notification-outbox" in stack.log("beat"), 30),
        "beat: sent its due job notification-outbox",
    )
    check(
        wait_until(lambda: "claims.tasks.flush_notification_outbox" in stack.log("worker"), 30),
        "worker: received claims.tasks.flush_notification_outbox from beat",
    )

    say("Readiness, static files, metrics")
    for name, base in (("A", a), ("B", b)):
        status, _, body = get(f"{base}/readyz")
        answer = json.loads(body or b"{}")
        check(
            status == 200 and answer == {"status": "ok", "database": "up", "broker": "up", "cache": "up"},
            f"{name}: /readyz 200 (database, broker, cache up)",
            f"{status} {answer}",
        )

    status, _, page = get(f"{a}/portail/connexion/")  # anonymous, as a first visit
    assets = re.findall(r'<(?:link|script)[^>]*(?:href|src)="(/static/[^"]+)"[^>]*>', page.decode())
    hashed = [url for url in assets if re.search(r"\.[0-9a-f]{12}\.(css|js)$", url)]
    check(status == 200 and hashed, f"A: the login page names {len(hashed)} static files by hashed name")
    for tag in re.findall(r'<(?:link|script)[^>]*integrity="[^"]+"[^>]*>', page.decode()):
        url = re.search(r'(?:href|src)="([^"]+)"', tag).group(1)
        algorithm, digest = re.search(r'integrity="(sha\d+)-([^"]+)"', tag).groups()
        served = hashlib.new(algorithm, get(f"{b}{url}")[2]).digest()
        check(base64.b64encode(served).decode() == digest, f"B: {url} matches its integrity hash")
    served, headers = {}, {}
    for url in hashed:
        status, headers, body = get(f"{b}{url}", headers={"Accept-Encoding": "gzip"})
        headers = {k.lower(): v for k, v in headers.items()}
        served[url] = (status, headers.get("content-encoding"), "immutable" in headers.get("cache-control", ""))
    check(
        all(answer == (200, "gzip", True) for answer in served.values()),
        f"B: those {len(served)} files served by the app (WhiteNoise: gzip, cached as immutable)",
        str(served),
    )

    def healthz_served():
        status, _, body = get(f"{a}/metrics", headers={"Authorization": f"Bearer {env['METRICS_TOKEN']}"})
        assert status == 200, status
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.decode().splitlines()
            if line.startswith("segur_http_requests_total{") and 'route="healthz"' in line
        )

    before = healthz_served()
    with ThreadPoolExecutor(max_workers=6) as pool:  # concurrent, so both workers answer some
        answered = sum(status == 200 for status, _, _ in pool.map(lambda _: get(f"{a}/healthz"), range(30)))
    after = healthz_served()
    writers = {p.stem.rsplit("_", 1)[1] for p in (stack.workdir / "metrics-web-a").glob("counter_*.db")}
    check(
        answered == 30 and after - before == 30 and len(writers) >= 2,
        f"A: /metrics counts all 30 /healthz answered by its workers ({len(writers)} processes wrote counters)",
        f"answered {answered}, counted {after - before:g}, writers {sorted(writers)}",
    )
    check(get(f"{a}/metrics")[0] == 404, "A: /metrics without the token is a 404")


def main():
    started = time.monotonic()
    stack = Stack()
    env = environment(stack.workdir)
    entries = procfile()
    failed = False

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        say(f"Stack check in {stack.workdir}")
        say("Services")
        postgres_up(stack)
        redis_up(stack)
        fresh_database()

        say("Release (Procfile `release`: migrate, collectstatic) and demo data")
        run(["bash", "-c", entries["release"]], env=env, timeout=600)
        check((stack.workdir / "static" / "staticfiles.json").exists(), "migrations applied, static files collected")
        run([PYTHON, "manage.py", "seed_demo"], env=env, timeout=600)
        ok("seed_demo: op-alpha, op-beta, campaign demo-open")
        overdue_beat_schedule(env)

        say("Processes (Procfile `web` ×2, `worker`, `beat`), DEBUG=0")
        ports = {"web-a": free_port(), "web-b": free_port()}
        for name, port in ports.items():
            directory = stack.workdir / f"metrics-{name}"
            stack.start(name, entries["web"], {**env, "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(directory)})
        stack.start("worker", entries["worker"], env)
        stack.start("beat", entries["beat"], env)
        a, b = (f"http://127.0.0.1:{port}" for port in ports.values())
        for name, base in (("web-a", a), ("web-b", b)):
            up = wait_until(lambda base=base: get(f"{base}/healthz")[0] == 200, 90)
            check(up, f"{name}: gunicorn answers on {base}", stack.log(name)[-2000:])
        check(wait_until(lambda: " ready." in stack.log("worker"), 90), "worker: connected to the broker, ready")
        check(wait_until(lambda: "beat: Starting" in stack.log("beat"), 60), "beat: started")

        scenario(stack, env, a, b)
        for name, process, _ in stack.processes:
            check(process.poll() is None, f"{name}: still running")
    except (CheckFailed, KeyboardInterrupt, subprocess.TimeoutExpired) as error:
        failed = True
        say(f"FAILED: {str(error) or 'interrupted'}")
        for name, _, _ in stack.processes:
            say(f"--- last lines of {name}.log ---")
            say("\n".join(stack.log(name).splitlines()[-25:]))
    finally:
        say("Stopping everything")
        stack.stop()
        leftovers = [name for name, process, _ in stack.processes if process.poll() is None]
        say("  ok  every process stopped" if not leftovers else f"  !!  still running: {leftovers}")
        if os.environ.get("STACK_KEEP") == "1":
            say(f"  ..  logs and e-mails kept in {stack.workdir}")
        else:
            shutil.rmtree(stack.workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    say(f"stack-check {'FAILED' if failed else 'passed'} in {elapsed:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
