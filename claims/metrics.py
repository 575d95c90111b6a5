"""Business gauges for /metrics (common.observability), read from the database at each scrape."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from claims.enums import BatchState
from claims.models import Claim, PaymentBatch


class ClaimsCollector:
    def collect(self):
        claims = GaugeMetricFamily("segur_claims", "Claims by state", labels=["state"])
        for row in Claim.objects.order_by().values("state").annotate(n=Count("pk")):
            claims.add_metric([row["state"]], row["n"])
        yield claims
        pending = PaymentBatch.objects.filter(state__in=[BatchState.GENERATED, BatchState.SENT]).count()
        yield GaugeMetricFamily("segur_payment_batches_pending", "Payment batches generated or sent", value=pending)
