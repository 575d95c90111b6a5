import hashlib
import importlib.util
import itertools
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import django
import hypothesis
import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, transaction
from django.db.backends.postgresql.operations import DatabaseOperations
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from rest_framework.test import APIClient

from config.celery import app as celery_app
from operators import services as operator_services


def _flush_past_the_truncate_guard():
    """The audit tables refuse TRUNCATE on PostgreSQL (a statement trigger), and Django's test flush
    (transactional tests) truncates every table: the flush alone runs with triggers off, in its
    own transaction (SET LOCAL; the tests run as a superuser)."""

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else statements

    DatabaseOperations.sql_flush = sql_flush


_flush_past_the_truncate_guard()


# Property tests (formula, Annuaire parser): 300 examples each by default (make test, CI); `make test-fast`
# asks for the quick profile (--hypothesis-profile=quick), enough to catch a slip while editing.
hypothesis.settings.register_profile("thorough", max_examples=300)
hypothesis.settings.register_profile("quick", max_examples=30)
hypothesis.settings.load_profile("thorough")


# A migrated SQLite test database, kept between runs (.cache/test-db/, one file per state of the
# migrations): each test process copies it into its in-memory database (≈ 5 ms) instead of running every
# migration again (≈ 4 s). The key covers what `migrate` writes (`_migrations_key`). PostgreSQL (CI)
# migrates as usual.
MIGRATED_DB_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "test-db"


_PROJECT_IMPORT = re.compile(r"^\s*(?:from|import)\s+((?:claims|common|demo|funding|operators|portal)(?:\.\w+)*)", re.M)


def _migrations_key():
    """What `migrate` writes depends on: every app's migrations, the project modules they import (models for
    callables, validators, the audit triggers' SQL), the roles synced after it, Django's version."""
    digest = hashlib.sha256(django.get_version().encode())
    inputs = {Path(django_settings.BASE_DIR) / "common" / "roles.py"}
    for app_config in sorted(apps.get_app_configs(), key=lambda config: config.label):
        for path in sorted((Path(app_config.path) / "migrations").glob("*.py")):
            source = path.read_bytes()
            digest.update(f"{app_config.label}/{path.name}".encode() + source)
            for module in _PROJECT_IMPORT.findall(source.decode()):
                inputs.add(Path(importlib.util.find_spec(module).origin))
    for path in sorted(inputs):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _create_test_db_from_cache(creation):
    """`create_test_db` for an in-memory SQLite database, from the cached migrated copy when there is one
    (and leaving one for the next process when there is not)."""
    create_test_db = creation.create_test_db

    def create(verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        cached = MIGRATED_DB_CACHE / f"{_migrations_key()}.sqlite3"
        if not cached.exists():
            name = create_test_db(verbosity=verbosity, autoclobber=autoclobber, serialize=serialize, keepdb=keepdb)
            MIGRATED_DB_CACHE.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.partial")
            copy = sqlite3.connect(partial)
            creation.connection.connection.backup(copy)
            copy.close()
            os.replace(partial, cached)  # atomic: a concurrent process reads a whole file or none
            for stale in MIGRATED_DB_CACHE.glob("*.sqlite3"):
                if stale != cached:
                    stale.unlink(missing_ok=True)  # an older state of the migrations
            return name
        name = creation._get_test_db_name()
        creation._create_test_db(verbosity, autoclobber, keepdb)
        creation.connection.close()
        django_settings.DATABASES[creation.connection.alias]["NAME"] = name
        creation.connection.settings_dict["NAME"] = name
        creation.connection.ensure_connection()
        source = sqlite3.connect(cached)
        source.backup(creation.connection.connection)
        source.close()
        if serialize:
            creation.connection._test_serialized_contents = creation.serialize_db_to_string()
        return name

    return create


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """pytest-django's hook before the test databases are created: an in-memory SQLite one comes from
    the cached migrated copy (see MIGRATED_DB_CACHE)."""
    if connection.vendor == "sqlite" and connection.creation.is_in_memory_db(connection.creation._get_test_db_name()):
        connection.creation.create_test_db = _create_test_db_from_cache(connection.creation)


TEST_SETTINGS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "COMPANY_API_URL": "",  # no network: tests/operators/test_company_check.py serves recorded answers
    "CLAMD_ADDRESS": "",  # scanning off unless a test starts clamd (tests/antivirus)
}


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Fast hashing, in-process Celery and fresh throttling counters for every test."""
    for name, value in TEST_SETTINGS.items():
        setattr(settings, name, value)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    cache.clear()


_MEDIA_DIRECTORIES = itertools.count()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    """Each test's files in a directory of its own, made by the storage when a file is written (most
    tests write none: no directory to make and to clean up)."""
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media" / str(next(_MEDIA_DIRECTORIES))


@dataclass
class ModuleData:
    """The module's transaction (see `module_db`) and the directory its files go to."""

    blocker: object
    media: Path

    def build(self, function, *args, **kwargs):
        """Runs `function` inside the module's transaction, under the tests' settings, and returns its result."""
        with self.blocker.unblock(), override_settings(MEDIA_ROOT=self.media, **TEST_SETTINGS):
            celery_app.conf.task_always_eager = True
            celery_app.conf.task_eager_propagates = True
            try:
                return function(*args, **kwargs)
            finally:
                cache.clear()


def _transactional(item):
    marker = item.get_closest_marker("django_db")
    return marker is not None and bool(marker.kwargs.get("transaction") or marker.args[:1] == (True,))


@pytest.fixture(scope="module")
def module_db(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """Data built once for a module's tests (`module_db.build(make_world)` in a module-scoped fixture), in a
    transaction opened for the module and rolled back after its last test. Each test still runs in its own
    transaction (a savepoint inside this one) rolled back at its end, so it sees the data as built whatever
    the tests before it wrote. Not for a module with transactional tests (their flush would empty it); the
    test gets the data's files through `module_media`."""
    if any(item.module is request.module and _transactional(item) for item in request.session.items):
        pytest.fail(f"{request.module.__name__} has transactional tests: its data cannot be built once (module_db)")
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
    try:
        yield ModuleData(blocker=django_db_blocker, media=tmp_path_factory.mktemp("module-media"))
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def module_media(module_db, settings, _media_root):
    """The test's own copy of the files of the module's data (`_media_root` gave it an empty directory)."""
    shutil.copytree(module_db.media, settings.MEDIA_ROOT, dirs_exist_ok=True)


def clamd_binary():
    """Debian's clamd (in /usr/sbin, often off a user's PATH), or CLAMD_PATH."""
    candidates = [os.environ.get("CLAMD_PATH"), shutil.which("clamd"), "/usr/sbin/clamd"]
    return next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but the database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("clamd") and not clamd_binary():
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("CI is set but clamd is not installed (.ci/run installs clamav-daemon)")
        pytest.skip("needs ClamAV's daemon (apt-get install --no-install-recommends clamav-daemon)")
    if item.get_closest_marker("broker") and not os.environ.get("CELERY_BROKER_URL"):
        if os.environ.get("REQUIRE_BROKER") == "1":
            pytest.fail("REQUIRE_BROKER=1 but CELERY_BROKER_URL is not set")
        pytest.skip("needs a Celery broker (set CELERY_BROKER_URL)")


@pytest.fixture
def representative(db):
    """A signed-up account with no operator yet: the one who files an enrolment."""
    return operator_services.account_create(
        username="omega-rep", email="rep@omega.example", password="Un-mot-de-passe-s0lide"
    )


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def migrate_to(request):
    """`migrate_to([(app, migration)])` moves the test database there and returns that state's apps;
    afterwards the database is put back on the latest migrations. Needs a transactional test, marked
    `migrations` (≈ 3 s each: `make test-fast` leaves them to `make test` and CI)."""
    if not request.node.get_closest_marker("migrations"):
        pytest.fail("a test walking the migrations is marked @pytest.mark.migrations")

    def executor():
        # Without replacements, so that migrations folded into a squash (funding 0003–0009) can still
        # be named as targets: the database has applied them, and goes back and forth through them.
        executor = MigrationExecutor(connection)
        executor.loader.replace_migrations = False
        executor.loader.build_graph()
        return executor

    def migrate(targets):
        migration_executor = executor()
        migration_executor.migrate(targets)
        return migration_executor.loader.project_state(targets).apps

    yield migrate
    migrate(executor().loader.graph.leaf_nodes())
    # The migrations may have renamed content types back and forth: drop the stale cache.
    ContentType.objects.clear_cache()
