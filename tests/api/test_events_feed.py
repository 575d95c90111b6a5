"""`GET /api/v1/events` (claims.feed): the operator's events across claims, enrolment and webhooks, in the
webhooks' envelope, ordered by time then id, with an opaque cursor."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from claims import feed
from claims import services as claim_services
from claims.models import ClaimEvent
from claims.webhooks import claim_event_payload
from operators import services, webhooks
from operators.enums import WebhookDeliveryStatus
from operators.models import EnrolmentEvent, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_delay(settings):
    settings.EVENTS_FEED_DELAY_SECONDS = 0


def read_all(client, limit=2):
    """Follow the cursor to the end; returns (envelopes, last cursor, pages)."""
    results, after, pages = [], None, 0
    while pages < 100:
        query = {"limit": limit, **({"after": after} if after else {})}
        page = client.get("/api/v1/events", query)
        assert page.status_code == 200, page.json()
        pages += 1
        results += page.json()["results"]
        after = page.json()["cursor"]
        if page.json()["next"] is None:
            return results, after, pages
    raise AssertionError("the cursor does not move forward")


def test_the_feed_lists_claim_enrolment_and_webhook_events_of_the_operator_in_order(world, monkeypatch):

    manager = world["clients"]["manager"]
    claim = world["claim"]
    hook_delivery = WebhookDelivery.objects.get(event_key="claim-event:test")
    services.webhook_give_up(delivery_id=hook_delivery.pk)  # never attempted: not in the feed (no time)
    WebhookDelivery.objects.filter(pk=hook_delivery.pk).update(last_attempt_at=timezone.now())
    monkeypatch.setattr(webhooks, "post", lambda *a, **k: 200)

    everything, _cursor, pages = read_all(manager, limit=3)
    assert pages > 1
    types = {item["type"] for item in everything}
    assert {"claim.created", "claim.updated", "enrolment.created", "enrolment.state_changed"} <= types
    assert "webhook.delivery_failed" in types
    ids = [item["id"] for item in everything]
    assert len(ids) == len(set(ids))
    times = [item["created_at"] for item in everything]
    assert [timezone.datetime.fromisoformat(t) for t in times] == sorted(
        timezone.datetime.fromisoformat(t) for t in times
    )
    # The envelope is the webhooks' one: a claim event reads exactly as its webhook payload.
    first_claim_event = claim.events.order_by("seq").first()
    assert claim_event_payload(first_claim_event) in everything
    # Enrolment events never carry their comments (the representative's messages).
    assert all("comment" not in item["data"]["event"] for item in everything if item["type"].startswith("enrolment"))


def test_the_cursor_resumes_after_the_last_event_read(world):
    manager = world["clients"]["manager"]
    claim = world["claim"]
    before, cursor, _ = read_all(manager)
    again = manager.get("/api/v1/events", {"after": cursor})
    assert again.json() == {"cursor": cursor, "next": None, "results": []}  # nothing new: the cursor stays

    claim_services.claim_submit(claim=claim, actor=claim.documents.first().uploaded_by)
    page = manager.get("/api/v1/events", {"after": cursor}).json()
    # The submission, then the receipt (accusé de dépôt) it generates.
    assert [item["type"] for item in page["results"]] == ["claim.state_changed", "claim.updated"]
    assert page["results"][0]["data"]["event"]["to_state"] == "submitted"
    assert page["results"][1]["data"]["event"]["action"] == "receipt"
    assert page["cursor"] != cursor
    assert page["results"][0]["id"] not in {item["id"] for item in before}


def test_events_at_the_same_instant_are_ordered_by_kind_then_id_and_never_skipped(world):
    """Two events sharing a timestamp on both sides of a page break are neither lost nor repeated."""

    manager = world["clients"]["manager"]
    same = timezone.now() - timedelta(minutes=1)
    # The journal is append-only: move the dates with a raw UPDATE (tests only), stored as the ORM stores them.

    with connection.cursor() as cursor:
        value = connection.ops.adapt_datetimefield_value(same)
        if connection.vendor == "postgresql":  # past the append-only triggers (the tests run as a superuser)
            cursor.execute("SET LOCAL session_replication_role = replica")
        for table in ("claims_claimevent", "operators_enrolmentevent"):
            cursor.execute(f"UPDATE {table} SET at = %s", [value])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
    events = ClaimEvent.objects.filter(claim__operator=world["claim"].operator).count()
    enrolment_events = EnrolmentEvent.objects.filter(enrolment__operator=world["claim"].operator).count()
    for limit in (1, 2, 5):
        everything, _, _ = read_all(manager, limit=limit)
        ids = [item["id"] for item in everything]
        assert len(ids) == len(set(ids)) == events + enrolment_events
        kinds = [item["id"].split(":")[0] for item in everything]
        assert kinds == sorted(kinds, key=["claim-event", "enrolment-event"].index)
        numbers = [int(i.split(":")[1]) for i in ids if i.startswith("claim-event")]
        assert numbers == sorted(numbers)


def test_another_operators_events_never_appear(world):
    other = world["clients"]["other"]
    theirs, _, _ = read_all(other, limit=50)
    ours = {item["id"] for item in read_all(world["clients"]["manager"], limit=50)[0]}
    assert theirs  # operator B has its enrolment's events
    assert not ours & {item["id"] for item in theirs}
    assert all(item["data"].get("claim", {}).get("id") != world["claim"].pk for item in theirs)


def test_agents_get_403_and_anonymous_401(world):
    assert world["clients"]["agent"].get("/api/v1/events").status_code == 403
    assert world["clients"]["anonymous"].get("/api/v1/events").status_code == 401
    assert world["clients"]["rep"].get("/api/v1/events").status_code == 403  # no operator yet


# A fixed instant: parameters must be the same in every xdist worker (each collects the tests).
TRUNCATED = feed.encode_cursor((datetime(2026, 1, 1, tzinfo=UTC), 0, 1))[:-2] + "!!"


@pytest.mark.parametrize("after", ["nonsense", "e30", pytest.param(TRUNCATED, id="truncated")])
def test_a_bad_cursor_is_400(world, after):
    response = world["clients"]["manager"].get("/api/v1/events", {"after": after})
    assert response.status_code == 400
    assert "after" in response.json()["errors"]


@pytest.mark.parametrize("limit", ["0", "201", "x", "-1"])
def test_a_bad_limit_is_400(world, limit):
    response = world["clients"]["manager"].get("/api/v1/events", {"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["errors"]


def test_the_newest_events_wait_for_the_delay(world, settings):
    settings.EVENTS_FEED_DELAY_SECONDS = 30
    assert world["clients"]["manager"].get("/api/v1/events").json()["results"] == []


def test_a_delivery_given_up_because_its_hook_was_disabled_is_dated_when_given_up(world):
    delivery = WebhookDelivery.objects.get(event_key="claim-event:test")
    delivery.webhook.is_active = False
    delivery.webhook.save()
    services.webhook_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.last_attempt_at is not None
    items = read_all(world["clients"]["manager"], limit=50)[0]
    assert f"webhook-delivery:{delivery.pk}" in {item["id"] for item in items}


def test_cursors_round_trip():
    position = (timezone.now(), feed.WEBHOOK, __import__("uuid").uuid4())
    assert feed.decode_cursor(feed.encode_cursor(position)) == position


def test_reading_a_page_costs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    manager = world["clients"]["manager"]
    manager.get("/api/v1/events")  # warm the token
    with django_assert_max_num_queries(8):
        assert manager.get("/api/v1/events", {"limit": 200}).status_code == 200
