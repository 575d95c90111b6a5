"""Optimistic concurrency on the API: `ETag` on a resource's representation, `If-Match` on its writes.

An ETag names a version of the resource (for claims and enrolments: the head of their audit chain and
their last change; for webhooks: their fields), not of the bytes — the representation also holds what
the reader may do now. A write sent with `If-Match` is done only if the resource is still at one of the
versions named (`*`: any), else 412; without `If-Match` it is done as before (428 is not required).
"""

import hashlib
from contextlib import contextmanager

from django.db import transaction

from common.exceptions import PreconditionFailed

IF_MATCH = "If-Match"


def make_etag(*parts):
    """A strong ETag (quoted) from the parts naming a version of a resource."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def matches(if_match, etag):
    """RFC 9110 §13.1.1: `*`, or one of the listed tags by strong comparison (weak tags never match)."""
    if if_match.strip() == "*":
        return True
    return any(tag.strip() == etag for tag in if_match.split(","))


def check_if_match(request, etag):
    """Raise PreconditionFailed when the request's If-Match does not name `etag`."""
    if_match = request.headers.get(IF_MATCH)
    if if_match is not None and not matches(if_match, etag):
        raise PreconditionFailed()


@contextmanager
def if_match_guard(request, *, lock, etag_of):
    """With `If-Match`, run the block in a transaction that first locks the object (`lock()` returns
    it, taking the row locks in the order the services take them) and compares its ETag: the version
    checked is the version written over. Without `If-Match`, the block runs as it would anyway."""
    if IF_MATCH not in request.headers:
        yield
        return
    with transaction.atomic():
        check_if_match(request, etag_of(lock()))
        yield


def with_etag(response, etag):
    response["ETag"] = etag
    return response


def created(response, location):
    """A 201 with the new resource's address."""
    response.status_code = 201
    response["Location"] = location
    return response
