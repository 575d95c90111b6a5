"""The report side of `make bench`: the machine and data described, the Markdown table rendered and
written into bench/RESULTS.md between its markers. Driven by bench/api_bench.py."""

import contextlib
import os
import platform
import shutil
from pathlib import Path

from bench.api_load import BENCH_DIR, REDIS_URL, THROTTLE_SIMULATE, run

RESULTS = BENCH_DIR / "RESULTS.md"
START_MARK = "<!-- api-bench:start (written by `make bench`, bench/api_bench.py) -->"
END_MARK = "<!-- api-bench:end -->"


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
    wrk_version = run(["wrk", "--version"]).stdout.split()[1] if shutil.which("wrk") else "?"
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
