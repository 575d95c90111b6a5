"""Request ids, structured logs and Prometheus metrics.

- `RequestIdMiddleware`: every request gets an id (a well-formed incoming `X-Request-ID`, else a new one),
  echoed in the response's `X-Request-ID`, put on every log record of the request (`RequestIdFilter`) and
  carried into the Celery tasks it queues (task header `request_id`, restored in the worker).
- `LOG_FORMAT=json` (default with DEBUG=0): one JSON object per line (python-json-logger) with the time,
  level, logger, message and request id; the client's address is the one `common.net.client_ip` gives.
- `/metrics` (prometheus-client): requests by method, route and status, their latency, Celery tasks by
  name and outcome, and the collectors of METRICS_COLLECTORS (claims by state, batches pending). Never
  public: answered only to a bearer METRICS_TOKEN or an address in METRICS_ALLOWED_IPS, else 404.
  With PROMETHEUS_MULTIPROC_DIR set (several gunicorn workers, deploy/gunicorn.conf.py), every process
  writes its counters there and /metrics sums them over the processes.
"""

import contextvars
import hmac
import ipaddress
import logging
import os
import re
import time
import uuid

from celery import signals
from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from common.net import client_ip

request_id_var = contextvars.ContextVar("request_id", default="")
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REQUESTS = Counter("segur_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "segur_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASKS = Counter("segur_celery_tasks_total", "Celery tasks run", ["task", "outcome"])


def current_request_id():
    return request_id_var.get()


class RequestIdMiddleware:
    """First in the chain: ids every request and measures it (route = the URL pattern, never the raw path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _WELL_FORMED.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        match = getattr(request, "resolver_match", None)
        route = match.route if match and match.route else ("unmatched" if match is None else match.view_name)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (empty outside a request or task)."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


def metrics(request):
    """Prometheus exposition, for the scraper only (token or allowed address); anyone else gets a 404."""
    token = settings.METRICS_TOKEN
    authorised = bool(token) and hmac.compare_digest(
        request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
    )
    if not authorised and settings.METRICS_ALLOWED_IPS:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            address = None
        networks = [ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_IPS]
        authorised = address is not None and any(address in network for network in networks)
    if not authorised:
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry():
    """This process's registry; with PROMETHEUS_MULTIPROC_DIR, one built for this scrape from every
    process's files (prometheus-client's multiprocess mode) plus the collectors read from the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for path in settings.METRICS_COLLECTORS:
            registry.register(import_string(path)())
        return registry
    for path in settings.METRICS_COLLECTORS:
        _register_once(path)
    return REGISTRY


_registered = set()


def _register_once(path):
    if path not in _registered:
        REGISTRY.register(import_string(path)())
        _registered.add(path)


# --- Celery: the request id travels with the task --------------------------------------------------


def _before_publish(headers=None, **kwargs):
    if headers is not None and request_id_var.get():
        headers.setdefault("request_id", request_id_var.get())


_task_tokens = {}


def _task_prerun(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) or (task.request.headers or {}).get("request_id")
    if request_id:
        _task_tokens[task_id] = request_id_var.set(request_id)


def _task_postrun(task_id=None, task=None, state=None, **kwargs):
    TASKS.labels(task.name, (state or "unknown").lower()).inc()
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)


def connect_celery_signals():
    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.task_prerun.connect(_task_prerun, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)
