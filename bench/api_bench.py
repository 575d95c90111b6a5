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
[--no-record]`. This module is the command line and the run's order; the data set is built by
bench/api_data.py, the services, server, load and CPU metering live in bench/api_load.py, the
Markdown report in bench/api_report.py. Only the data loader is exercised by the test suite
(tests/bench, on PostgreSQL).
"""

import argparse
import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime

from bench.api_load import (
    DEFAULT_DATABASE_URL,
    MEDIA_ROOT,
    ROOT,
    SIMULATE_BODY,
    CpuMeter,
    admin_figures,
    api_queries,
    app_environment,
    ensure_database,
    ensure_services,
    gunicorn,
    log,
    targets,
    wait_until_quiet,
    wrk,
)
from bench.api_report import RESULTS, data_sizes, machine_description, record, render


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
