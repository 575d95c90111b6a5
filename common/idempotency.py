"""`Idempotency-Key` on the API's POSTs that create or transition: a retried request does not act twice.

The first request with a key reserves it (a `processing` row; the unique (user, key) constraint makes a
concurrent duplicate fail → 409) and runs; its response is stored if it succeeded (2xx) and replayed to
every retry with the same key and the same request for `IDEMPOTENCY_TTL_HOURS` (24 h), or the key is
released if it failed (4xx/5xx: nothing was done, a retry runs again). The same key with another
method, path or body → 422. Keys are per user; `purge_expired_keys` (daily, config/celery.py) drops
the old ones.

The request's fingerprint is SHA-256(method, path, SHA-256 of the raw body). The body is read once,
hashed and spooled (memory up to 1 MB, then a temporary file) before anything parses it; a multipart
body is hashed with its boundary replaced by a constant, so a client that re-encodes the same form
(a new random boundary) on retry is recognised.
"""

import hashlib
import re
import tempfile
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.enums import IdempotencyState
from common.exceptions import IdempotencyInProgress, IdempotencyKeyReused
from common.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Response headers replayed with the stored body.
KEPT_HEADERS = ("Content-Type", "Location", "ETag")
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as a header value can carry
INVALID_KEY = "Clé d'idempotence invalide : 1 à 255 caractères ASCII visibles (un UUID par exemple)."
CHUNK = 64 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
MULTIPART_BOUNDARY = re.compile(rb"boundary=\"?([^\";,]+)\"?", re.IGNORECASE)
BOUNDARY_TOKEN = b"--idempotency-boundary"


def fingerprint(*, method: str, path: str, body_sha256: str) -> str:
    """SHA-256 of the method, the path (trailing slash ignored: both forms are one endpoint) and the body's."""
    return hashlib.sha256(f"{method.upper()}\n{path.rstrip('/')}\n{body_sha256}".encode()).hexdigest()


def _boundary_marker(content_type: str) -> bytes | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    match = MULTIPART_BOUNDARY.search(content_type.encode("latin-1", "replace"))
    return b"--" + match.group(1) if match else None


class _BodyDigest:
    """SHA-256 of a body streamed in chunks, with every `marker` (a multipart boundary) replaced by a constant."""

    def __init__(self, marker: bytes | None) -> None:
        self.sha = hashlib.sha256()
        self.marker = marker
        self.pending = b""

    def update(self, chunk: bytes) -> None:
        if not self.marker:
            self.sha.update(chunk)
            return
        *complete, last = (self.pending + chunk).split(self.marker)
        for part in complete:
            self.sha.update(part + BOUNDARY_TOKEN)
        # The tail may hold the start of a marker cut by the chunk's end: keep it for the next chunk.
        keep = len(self.marker) - 1
        self.sha.update(last[:-keep] if len(last) > keep else b"")
        self.pending = last[-keep:] if len(last) > keep else last

    def hexdigest(self) -> str:
        self.sha.update(self.pending)
        self.pending = b""
        return self.sha.hexdigest()


def spool_body(django_request: HttpRequest) -> tuple[str, IO[bytes] | None]:
    """Read the raw body once, hash it, and put it back as the request's stream; returns (its SHA-256,
    the spool to close once the response is made, or None).

    Must run before anything reads the body (DRF's parsers, the CSRF check of session authentication).
    """
    digest = _BodyDigest(_boundary_marker(django_request.META.get("CONTENT_TYPE", "")))
    if hasattr(django_request, "_body"):  # already read whole (request.body): hash it as it is
        digest.update(django_request._body)
        return digest.hexdigest(), None
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by the caller)
    while chunk := django_request._stream.read(CHUNK):
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    # A spooled file reads like the stream it replaces (the stubs say BinaryIO).
    django_request._stream = spool  # type: ignore[assignment]
    return digest.hexdigest(), spool


def _expired_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def idempotency_begin(
    *, user: User, key: str, request_fingerprint: str, now: datetime | None = None
) -> tuple[IdempotencyKey, None] | tuple[None, IdempotencyKey]:
    """Reserve `key` for this request. Returns (row, None) when the caller must act (then
    `idempotency_complete` or `idempotency_release`), or (None, stored_row) to replay.

    Raises IdempotencyKeyReused (another request had this key) or IdempotencyInProgress (the first
    one is still running; a reservation older than IDEMPOTENCY_LOCK_SECONDS is taken over: its
    request died without finishing).
    """
    now = now or timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    fingerprint=request_fingerprint,
                    state=IdempotencyState.PROCESSING,
                    created_at=now,
                )
            return row, None
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:  # released meanwhile: try again
            continue
        if existing.created_at < _expired_before(now):
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        if existing.state == IdempotencyState.COMPLETED:
            return None, existing
        stale = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
        if existing.created_at < stale and (
            IdempotencyKey.objects.filter(
                pk=existing.pk, state=IdempotencyState.PROCESSING, created_at=existing.created_at
            ).update(created_at=now)
            == 1
        ):
            existing.created_at = now
            return existing, None
        raise IdempotencyInProgress()
    raise IdempotencyInProgress()


def idempotency_complete(*, row: IdempotencyKey, response: HttpResponse) -> None:
    """Store a successful response for replay (status, body and the headers a client relies on)."""
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    IdempotencyKey.objects.filter(pk=row.pk).update(
        state=IdempotencyState.COMPLETED,
        response_status=response.status_code,
        response_headers=headers,
        response_body=bytes(response.content),
    )


def idempotency_release(*, row: IdempotencyKey) -> None:
    """The request failed (it did nothing): forget the key so that a retry runs again."""
    IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyState.PROCESSING).delete()


def replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.response_body), status=row.response_status)
    for name, value in row.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def purge_expired_keys(*, now: datetime | None = None) -> int:
    """Delete the keys older than IDEMPOTENCY_TTL_HOURS; returns how many (the daily job)."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_expired_before(now or timezone.now())).delete()
    return deleted


class _Replay(Exception):
    """Not an error: carries a stored response out of `initial` to `handle_exception`."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


# APIView mixin: the methods in `idempotent_methods` honour `Idempotency-Key`. The body is spooled before
# authentication (which may read it for the CSRF check); the key is looked up after authentication,
# permissions and throttles, so only an authorised user's request reserves a key. (A comment, not a
# docstring: drf-spectacular would show an inherited docstring as the operations' description.)
# For the type checker the mixin is the APIView it is mixed into; at run time it stays a plain mixin.
if TYPE_CHECKING:
    _MixinBase = APIView
else:
    _MixinBase = object


class IdempotentMixin(_MixinBase):
    idempotent_methods = ("post",)
    _idempotency_row: IdempotencyKey | None
    _idempotency_spool: IO[bytes] | None

    def _wants_idempotency(self, request: Request) -> bool:
        return (request.method or "").lower() in self.idempotent_methods and HEADER in request.headers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._idempotency_row = None
        body_sha256 = None
        if self._wants_idempotency(request):
            body_sha256, self._idempotency_spool = spool_body(request._request)
        super().initial(request, *args, **kwargs)
        if body_sha256 is None:
            return
        key = request.headers[HEADER]
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationError({HEADER: [INVALID_KEY]})
        user = request.user
        assert isinstance(user, User)  # authenticated: super().initial() ran the views' permission checks
        row, stored = idempotency_begin(
            user=user,
            key=key,
            request_fingerprint=fingerprint(method=request.method or "", path=request.path, body_sha256=body_sha256),
        )
        if stored is not None:
            raise _Replay(replay(stored))
        self._idempotency_row = row

    # DRF's stubs say Response; dispatch() takes any HttpResponseBase (finalize_response checks that).
    def handle_exception(self, exc: Exception) -> HttpResponseBase:  # type: ignore[override]
        if isinstance(exc, _Replay):
            return exc.response
        response: Response = super().handle_exception(exc)
        return response

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self._idempotency_spool = None
        try:
            response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
            return response
        except BaseException:
            # An unhandled error (a 500): nothing is known to be done, let a retry run again.
            row = getattr(self, "_idempotency_row", None)
            if row is not None:
                idempotency_release(row=row)
                self._idempotency_row = None
            raise
        finally:
            if self._idempotency_spool is not None:
                self._idempotency_spool.close()

    # DRF takes any HttpResponseBase here (a replay is a plain HttpResponse); its stubs say Response.
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        row, self._idempotency_row = getattr(self, "_idempotency_row", None), None
        if row is None:
            return response
        if 200 <= response.status_code < 300 and isinstance(response, HttpResponse):  # not streamed
            if hasattr(response, "render"):
                response.render()
            idempotency_complete(row=row, response=response)
        else:
            idempotency_release(row=row)
        return response
