"""Optimistic concurrency on the API: `ETag` on a resource's representation, `If-Match` on its writes.

An ETag names a version of the resource (for claims and enrolments: the head of their audit chain and
their last change; for webhooks: their fields), not of the bytes — the representation also holds what
the reader may do now. A write sent with `If-Match` is done only if the resource is still at one of the
versions named (`*`: any), else 412; without `If-Match` it is done as before (428 is not required).
"""

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase

from common.exceptions import PreconditionFailed

IF_MATCH = "If-Match"

Obj = TypeVar("Obj")
ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)


def make_etag(*parts: object) -> str:
    """A strong ETag (quoted) from the parts naming a version of a resource."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def matches(if_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.1: `*`, or one of the listed tags by strong comparison (weak tags never match)."""
    if if_match.strip() == "*":
        return True
    return any(tag.strip() == etag for tag in if_match.split(","))


def check_if_match(request: HttpRequest, etag: str) -> None:
    """Raise PreconditionFailed when the request's If-Match does not name `etag`."""
    if_match = request.headers.get(IF_MATCH)
    if if_match is not None and not matches(if_match, etag):
        raise PreconditionFailed()


@contextmanager
def if_match_guard(request: HttpRequest, *, lock: Callable[[], Obj], etag_of: Callable[[Obj], str]) -> Iterator[None]:
    """With `If-Match`, run the block in a transaction that first locks the object (`lock()` returns
    it, taking the row locks in the order the services take them) and compares its ETag: the version
    checked is the version written over. Without `If-Match`, the block runs as it would anyway."""
    if IF_MATCH not in request.headers:
        yield
        return
    with transaction.atomic():
        check_if_match(request, etag_of(lock()))
        yield


def with_etag(response: ResponseT, etag: str) -> ResponseT:
    response["ETag"] = etag
    return response


def created(response: ResponseT, location: str) -> ResponseT:
    """A 201 with the new resource's address."""
    response.status_code = 201
    response["Location"] = location
    return response
