"""Processes for fault tests: a Celery worker and a Django server on the test database."""

import os
import socket
import subprocess
import sys
import time

from django.db import connection


def database_url(*, host=None, port=None):
    settings_dict = connection.settings_dict
    host = host or settings_dict["HOST"] or "127.0.0.1"
    port = port or settings_dict["PORT"] or 5432
    return f"postgres://{settings_dict['USER']}@{host}:{port}/{settings_dict['NAME']}"


def start_worker(*, queue, log_path, **env):
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "--loglevel=INFO"],
        env={**os.environ, "DATABASE_URL": database_url(), "CONN_MAX_AGE": "0", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    return process


def stop(process, *, kill=False):
    if process.poll() is not None:
        _close_log(process)
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _close_log(process)


def _close_log(process):
    log = getattr(process, "log", None)
    if log is not None and not log.closed:
        log.close()


def wait_for(predicate, timeout=60, interval=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
