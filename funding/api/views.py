from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import THROTTLED
from common.ratelimit import AddressRateThrottle
from funding import selectors
from funding.api.serializers import BreakdownSerializer, CampaignSerializer, ScheduleSerializer, SimulateInputSerializer
from funding.formula import compute_breakdown


class SimulateFundingView(APIView):
    """Public funding simulator: the workshop's spreadsheet as an endpoint."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "simulate"

    @extend_schema(
        request=SimulateInputSerializer,
        responses={200: BreakdownSerializer, 429: THROTTLED},
        auth=[],
        examples=[
            OpenApiExample(
                "Opérateur A de l'atelier",
                value={"schedule": "workshop-2022-03", "counts": {"APP": 700, "ORG": 5000, "PER": 40000}},
                request_only=True,
            ),
            OpenApiExample(
                "Barème d'une campagne pour un opérateur développeur",
                value={
                    "campaign": "segur-mss-2023",
                    "operator_kind": "developer",
                    "counts": {"APP": 700, "ORG": 5000, "PER": 40000},
                },
                request_only=True,
            ),
        ],
        summary="Simuler le financement",
        description="Le barème est donné soit par `schedule`, soit par `campaign` et `operator_kind` (le barème "
        "des opérateurs développeurs ou acheteurs de la campagne), jamais les deux.",
    )
    def post(self, request):
        data = SimulateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        breakdown = compute_breakdown(schedule=data.validated_data["schedule"], counts=data.validated_data["counts"])
        return Response(breakdown.as_dict())


class ScheduleListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ScheduleSerializer

    def get_queryset(self):
        return selectors.published_schedules()


class CampaignListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return selectors.campaigns()


class CampaignDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = CampaignSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.campaigns()
