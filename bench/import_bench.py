"""`python bench/import_bench.py`: the Annuaire Santé import measured on PostgreSQL (issue 6).

One run, on a generated 1 000 000-row extraction (funding/synthetic.py, seed 0):

1. PostgreSQL database `segur_annuaire_bench` (created and migrated when missing; another one
   with --database-url), 300 operators holding the generated file's operator domains.
2. For each round: the previous snapshot of the file is deleted; a raw `COPY` of the same file
   into an UNLOGGED table of 31 text columns (client-side, streamed with psycopg 3 like
   `psql \\copy`), then our import (`manage.py import_annuaire FILE --format json` in a
   subprocess: wall time, and its peak memory read with getrusage(RUSAGE_CHILDREN)).
3. Counting funded mailboxes per operator at the closure date: the counts of every operator
   from the snapshot (what claims and the report read), and the transfer-aware form that
   subtracts, address by address, the mailboxes already counted for other operators (10
   operators marked as funded, ~60 % of the addresses), both best of 3.
4. Results printed and written into bench/RESULTS.md between this benchmark's markers.

Targets (issue 6): import ≤ 2.0 × raw COPY, peak memory < 300 MB (286 MiB), counting < 1 s.
Usage: `python bench/import_bench.py [--rows N] [--rounds N] [--database-url URL] [--no-record]`.
Nothing here is part of the test suite.
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/segur_annuaire_bench"
CLOSURE = date(2023, 6, 30)
FILE_NAME = "Extraction_Correspondance_MSSante_202306300400.txt"
BEGIN, END = "<!-- import-bench:begin -->", "<!-- import-bench:end -->"


def shell(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False, shell=True).stdout.strip()  # noqa: S602 - fixed commands
    except OSError:
        return ""


def ensure_database(url):
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed_operators(domains):
    """One operator per generated operator domain (idempotent)."""
    from stdnum import luhn

    from operators.enums import OperatorKind
    from operators.models import MailDomain, Operator

    if MailDomain.objects.filter(name=domains.operator_domains[-1]).exists():
        return
    operators = []
    for n, domain in enumerate(domains.operator_domains):
        base = f"{70_000_000 + n:08d}"
        operators.append(
            Operator(
                legal_name=f"Opérateur {domain}", siren=base + luhn.calc_check_digit(base), kind=OperatorKind.DEVELOPER
            )
        )
    Operator.objects.bulk_create(operators, ignore_conflicts=True)
    by_siren = {op.siren: op for op in Operator.objects.filter(siren__in=[op.siren for op in operators])}
    MailDomain.objects.bulk_create(
        [
            MailDomain(operator=by_siren[op.siren], name=domain)
            for op, domain in zip(operators, domains.operator_domains, strict=True)
        ]
    )


def raw_copy(url, path):
    """Seconds for a client-side COPY of the raw file into an UNLOGGED table of 31 text columns."""
    import psycopg

    columns = ", ".join(f"c{i} text" for i in range(31))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw_extraction")
        conn.execute(f"CREATE UNLOGGED TABLE bench_raw_extraction ({columns})")
        started = time.perf_counter()
        # CSV with a quote character that never occurs: every `|`-separated field taken as is.
        copy_sql = "COPY bench_raw_extraction FROM STDIN (FORMAT csv, DELIMITER '|', HEADER true, QUOTE E'\\x01')"
        with conn.cursor() as cursor, cursor.copy(copy_sql) as copy, open(path, "rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        rows = conn.execute("SELECT COUNT(*) FROM bench_raw_extraction").fetchone()[0]
        conn.execute("DROP TABLE bench_raw_extraction")
    return elapsed, rows


def run_import(path, env):
    """Wall seconds, peak RSS (MiB) and JSON summary of `manage.py import_annuaire` in a subprocess."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, the file we generated
        [sys.executable, "manage.py", "import_annuaire", str(path), "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return elapsed, peak_mib, json.loads(done.stdout)


def startup_seconds(env):
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "import_annuaire", "--help"], cwd=ROOT, env=env, capture_output=True, check=True
    )
    return time.perf_counter() - started


def best_of(count, function):
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "segur-import-bench"))
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("Ce banc d'essai mesure le chemin PostgreSQL : --database-url postgres://…")

    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    os.environ.update(DATABASE_URL=args.database_url, DJANGO_SETTINGS_MODULE="config.settings")
    sys.path.insert(0, str(ROOT))
    ensure_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from funding import annuaire, selectors
    from funding.models import AnnuaireSnapshot, Campaign, CountedDomain, CountedMailbox, FundingSchedule
    from funding.synthetic import synthetic_domains, write_extraction

    call_command("migrate", verbosity=0)
    load_before = os.getloadavg()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / FILE_NAME
    marker = workdir / f"{FILE_NAME}.{args.rows}.{args.seed}"
    domains = synthetic_domains(seed=args.seed)
    if not marker.exists() or not path.exists():
        print(f"Génération de {args.rows:,} lignes…".replace(",", " "), flush=True)
        write_extraction(path, rows=args.rows, seed=args.seed, domains=domains)
        for old in workdir.glob(f"{FILE_NAME}.*"):
            old.unlink()
        marker.touch()
    size_mib = path.stat().st_size / 2**20
    seed_operators(domains)
    with annuaire.open_extraction(path) as extraction:
        sha256 = annuaire.inspect_file(extraction)
    startup = startup_seconds(env)

    rounds = []
    for number in range(1, args.rounds + 1):
        AnnuaireSnapshot.objects.filter(sha256=sha256).delete()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE funding_annuairemailbox")
        copy_seconds, copy_rows = raw_copy(args.database_url, path)
        import_seconds, peak_mib, summary = run_import(path, env)
        assert summary["rows"] == copy_rows == args.rows, (summary["rows"], copy_rows)
        rounds.append({"copy": copy_seconds, "import": import_seconds, "peak": peak_mib, "summary": summary})
        print(
            f"Tour {number} : COPY brut {copy_seconds:.2f} s, import {import_seconds:.2f} s "
            f"(×{import_seconds / copy_seconds:.2f}), mémoire max {peak_mib:.0f} Mio",
            flush=True,
        )

    # Counting at closure, on the last imported snapshot.
    snapshot = selectors.snapshot_at(CLOSURE)
    campaign, _ = Campaign.objects.update_or_create(
        code="bench-import",
        defaults={
            "label": "Banc d'essai import",
            "schedule": FundingSchedule.objects.get(code="segur-2023"),
            "developer_schedule": FundingSchedule.objects.get(code="segur-2023"),
            "opening_date": CLOSURE - timedelta(days=180),
            "closure_date": CLOSURE,
            "advance_deadline": date(2023, 9, 22),
            "balance_deadline": date(2023, 10, 22),
        },
    )
    largest = sorted(
        (
            (count, operator_id)
            for (operator_id, _), count in annuaire.operator_type_counts(snapshot.pk, CLOSURE).items()
        ),
        reverse=True,
    )
    funded = {operator_id for _, operator_id in largest[:10]}
    CountedMailbox.objects.filter(campaign=campaign).delete()
    CountedDomain.objects.filter(campaign=campaign).delete()
    for operator_id in funded:
        annuaire.record_counted_mailboxes(
            snapshot_id=snapshot.pk,
            day=CLOSURE,
            operator_id=operator_id,
            campaign_id=campaign.pk,
            excluded_operator_ids=(),
        )
    counted = CountedMailbox.objects.filter(campaign=campaign).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE funding_countedmailbox")

    def funded_counts():
        return annuaire.funded_counts_by_operator(
            snapshot_id=snapshot.pk, day=CLOSURE, campaign_id=campaign.pk, funded_operator_ids=funded
        )

    aggregate_seconds, by_operator = best_of(3, lambda: selectors.count_lines_by_operator(day=CLOSURE))
    no_move_seconds, _ = best_of(3, funded_counts)
    # A park changes hands: the 10th largest funded operator's domain goes to an unfunded one on 1 June.
    from operators.models import MailDomain

    moved_domain = MailDomain.objects.get(operator_id=largest[9][1])
    heir = MailDomain.objects.exclude(operator_id__in=funded).order_by("name").first().operator
    moved_domain.valid_until = date(2023, 5, 31)
    moved_domain.save()
    heir_domain = MailDomain.objects.create(operator=heir, name=moved_domain.name, valid_from=date(2023, 6, 1))
    moved = len(annuaire.moved_addresses(day=CLOSURE, campaign_id=campaign.pk, excluded_operator_ids=funded))
    setdiff_seconds, funded_result = best_of(3, funded_counts)
    assert sum(count for (op, _), count in funded_result.items() if op == heir.pk) < sum(
        count for (op, _), count in annuaire.operator_type_counts(snapshot.pk, CLOSURE).items() if op == heir.pk
    )
    heir_domain.delete()
    moved_domain.valid_until = None
    moved_domain.save()
    CountedMailbox.objects.filter(campaign=campaign).delete()
    CountedDomain.objects.filter(campaign=campaign).delete()
    load_after = os.getloadavg()

    copy_median = statistics.median(r["copy"] for r in rounds)
    import_median = statistics.median(r["import"] for r in rounds)
    ratios = [r["import"] / r["copy"] for r in rounds]
    peak = max(r["peak"] for r in rounds)
    summary = rounds[-1]["summary"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    cpu = re.sub(r"\s+", " ", shell("lscpu | grep 'Model name' | cut -d: -f2")) or platform.processor()
    lines = [
        f"Fichier : {args.rows:,} lignes, {size_mib:.0f} Mio, {summary['mailboxes']:,} BAL distinctes, "
        f"{len(summary['unknown_domains'])} domaines inconnus, {len(by_operator)} opérateurs",
        "",
        "| tour | COPY brut (s) | import (s) | rapport | mémoire max import (Mio) |",
        "|---|---|---|---|---|",
        *[
            f"| {n} | {r['copy']:.2f} | {r['import']:.2f} | {r['import'] / r['copy']:.2f} | {r['peak']:.0f} |"
            for n, r in enumerate(rounds, 1)
        ],
        f"| médiane | {copy_median:.2f} | {import_median:.2f} | {statistics.median(ratios):.2f} | max {peak:.0f} |",
        "",
        f"- Import = la commande entière (`manage.py import_annuaire … --format json` en sous-processus), dont "
        f"{startup:.2f} s de démarrage de Python et Django ; cible rapport ≤ 2,0 : "
        f"{'atteinte' if statistics.median(ratios) <= 2.0 else 'NON atteinte'} ; cible mémoire < 300 Mo "
        f"(286 Mio), pic {peak * 2**20 / 1e6:.0f} Mo : {'atteinte' if peak * 2**20 < 300e6 else 'NON atteinte'}.",
        f"- Comptage des BAL par opérateur à la clôture, {summary['mailboxes']:,} BAL, {len(by_operator)} opérateurs : "
        f"{aggregate_seconds * 1000:.0f} ms (`count_lines_by_operator`, ce que lisent demandes et budget) ; "
        f"avec les transferts ({counted:,} adresses déjà comptées pour 10 opérateurs financés) : "
        f"{no_move_seconds * 1000:.0f} ms quand aucun domaine n'a changé de mains, {setdiff_seconds * 1000:.0f} ms "
        f"quand un parc de {moved:,} adresses a changé de mains (différence d'ensembles sur les adresses, un "
        f"passage sur les BAL de l'extraction) ; cible < 1 s : "
        f"{'atteinte' if max(aggregate_seconds, no_move_seconds, setdiff_seconds) < 1 else 'NON atteinte'}.",
        "",
        f"Machine : {os.cpu_count()} cœurs (`nproc` {shell('nproc')}), {cpu.strip()}, "
        f"mémoire `free -h` : {shell('free -h | grep Mem')}, PostgreSQL {pg_version}, "
        f"Python {platform.python_version()}.",
        f"Charge moyenne (1 min) : {load_before[0]:.2f} au début, {load_after[0]:.2f} à la fin"
        + (" (machine partagée : d'autres processus tournaient avant la mesure)." if load_before[0] > 1.0 else "."),
    ]
    # French thousands separator in the figures (a narrow no-break space would not survive every terminal).
    text = re.sub(r"(?<=\d),(?=\d{3})", " ", "\n".join(lines))
    print()
    print(text)
    if not args.no_record:
        record(text, stamp=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def record(text, *, stamp):
    results = ROOT / "bench" / "RESULTS.md"
    section = (
        f"{BEGIN}\n## Import de l'Annuaire Santé (issue 6) — {stamp}\n\n`python bench/import_bench.py`\n\n{text}\n{END}"
    )
    current = results.read_text() if results.exists() else "# Résultats des bancs d'essai\n"
    if BEGIN in current and END in current:
        before, rest = current.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        current = before + section + after
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    results.write_text(current)
    print(f"\nÉcrit dans {results.relative_to(ROOT)}.")


if __name__ == "__main__":
    main()
