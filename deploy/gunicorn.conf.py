"""gunicorn settings for the web process (Procfile, deploy/systemd/segur-web@.service, make stack-check).

`gunicorn -c deploy/gunicorn.conf.py config.wsgi:application --bind 127.0.0.1:8000`; every value below
can be overridden on the command line or through GUNICORN_CMD_ARGS.

Metrics: each worker is a process with its own counters. With PROMETHEUS_MULTIPROC_DIR set (a directory
of this instance's own, empty at start: systemd's RuntimeDirectory gives one), every worker writes its
counters there and /metrics sums them (common.observability); the directory is emptied when the master
starts, and a worker's live gauges are dropped when it exits.
"""

import os
from pathlib import Path

from prometheus_client import multiprocess

wsgi_app = "config.wsgi:application"
bind = "127.0.0.1:8000"  # the Procfile and the systemd template give --bind
# Sync workers: 2 per core is a fair start for this mostly-database app (make bench measured 5 on 2 CPUs).
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Above DATABASE_STATEMENT_TIMEOUT (20 s) plus its client margin, so a slow query answers 503, not a kill.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Restart workers now and then (a leak stays bounded), not all at once.
max_requests = 2000
max_requests_jitter = 200
# Logs to stderr like the app's (collected by systemd's journal or the container runtime).
errorlog = "-"
# No control socket: its default path is shared by every instance of the host (reload with SIGHUP).
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


def on_starting(server):
    """Stale files of a previous run would be summed with this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
