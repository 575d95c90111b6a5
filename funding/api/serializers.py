from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common import formatting
from common.serializers import InputSerializer
from funding.calendar import end_of_day
from funding.enums import MAX_COUNT, MailboxType
from funding.models import Campaign, FundingSchedule
from operators.enums import OperatorKind


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_COUNT})
class MailboxCountField(serializers.Field):
    """A mailbox count: a JSON integer, 0 ≤ n ≤ 10 000 000 (no strings, floats or booleans)."""

    default_error_messages = {
        "invalid": "Un nombre entier est attendu.",
        "min_value": "Le nombre de BAL ne peut pas être négatif.",
        "max_value": f"Le nombre de BAL ne peut pas dépasser {formatting.count(MAX_COUNT)}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                self.fail("invalid")
        if data < 0:
            self.fail("min_value")
        if data > MAX_COUNT:
            self.fail("max_value")
        return data

    def to_representation(self, value):
        return value


class CountsSerializer(InputSerializer):
    APP = MailboxCountField(help_text="Nombre de BAL applicatives")
    ORG = MailboxCountField(help_text="Nombre de BAL organisationnelles")
    PER = MailboxCountField(help_text="Nombre de BAL personnelles")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(MailboxType.values))
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Type de BAL inconnu : « {key} » (attendus : APP, ORG, PER)."] for key in unknown}
                )
        return super().to_internal_value(data)


SCHEDULE_OR_CAMPAIGN = "Indiquez un barème, ou bien une campagne et un type d'opérateur."
SCHEDULE_AND_CAMPAIGN = "Indiquez un barème, ou bien une campagne et un type d'opérateur, pas les deux."
OPERATOR_KIND_NEEDED = "Indiquez le type d'opérateur (developer ou buyer) : le barème de la campagne en dépend."


class ScheduleChoiceSerializer(InputSerializer):
    """Which schedule prices a simulation: `schedule` itself, or `campaign` + `operator_kind`.

    After validation `schedule` is always the FundingSchedule to apply (the campaign's developers'
    or buyers' schedule, Campaign.schedule_for); `campaign` and `operator_kind` are kept when given.
    The API and `simulate_funding` both validate their input here.
    """

    schedule = serializers.SlugRelatedField(
        slug_field="code",
        queryset=FundingSchedule.objects.all(),
        required=False,
        help_text="Code du barème. À défaut : `campaign` et `operator_kind`.",
        error_messages={"does_not_exist": "Barème inconnu : « {value} »."},
    )
    campaign = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Campaign.objects.select_related("schedule", "developer_schedule"),
        required=False,
        help_text="Code de la campagne dont le barème s'applique (avec `operator_kind`, sans `schedule`).",
        error_messages={"does_not_exist": "Campagne inconnue : « {value} »."},
    )
    operator_kind = serializers.ChoiceField(
        choices=OperatorKind.choices,
        required=False,
        help_text="Type d'opérateur : les développeurs et les acheteurs ont chacun leur barème dans une campagne.",
        error_messages={"invalid_choice": "Type d'opérateur inconnu : « {input} » (attendus : developer, buyer)."},
    )

    def validate(self, attrs):
        schedule, campaign, kind = attrs.get("schedule"), attrs.get("campaign"), attrs.get("operator_kind")
        if schedule is not None and (campaign is not None or kind):
            given = ["schedule"] + [name for name in ("campaign", "operator_kind") if attrs.get(name)]
            raise serializers.ValidationError({name: [SCHEDULE_AND_CAMPAIGN] for name in given})
        if schedule is None and campaign is None:
            raise serializers.ValidationError({"schedule": [SCHEDULE_OR_CAMPAIGN]})
        if schedule is None:
            if not kind:
                raise serializers.ValidationError({"operator_kind": [OPERATOR_KIND_NEEDED]})
            attrs["schedule"] = campaign.schedule_for(kind)
        return attrs


class SimulateInputSerializer(ScheduleChoiceSerializer):
    counts = CountsSerializer()


class BreakdownLineSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=MailboxType.choices)
    count = serializers.IntegerField()
    rate = serializers.CharField(help_text="€ HT, deux décimales")
    amount = serializers.CharField(help_text="€ HT, deux décimales")


class BreakdownSerializer(serializers.Serializer):
    """Output only: the shape of `Breakdown.as_dict()`."""

    schedule = serializers.CharField()
    lines = BreakdownLineSerializer(many=True)
    base = serializers.CharField()
    subtotal = serializers.CharField()
    cap = serializers.CharField()
    capped = serializers.BooleanField()
    total = serializers.CharField()
    advance = serializers.CharField()
    balance = serializers.CharField()


class ScheduleSerializer(serializers.ModelSerializer):
    rates = serializers.SerializerMethodField()

    class Meta:
        model = FundingSchedule
        fields = ["code", "label", "source", "rates", "base", "cap", "advance_share"]

    def get_rates(self, obj) -> dict[str, str]:
        return {t.value: f"{obj.rate_for(t):.2f}" for t in MailboxType}


class CampaignSchedulesSerializer(serializers.ModelSerializer):
    developer = serializers.SlugRelatedField(
        source="developer_schedule", slug_field="code", read_only=True, help_text="Barème des opérateurs développeurs"
    )
    buyer = serializers.SlugRelatedField(
        source="schedule", slug_field="code", read_only=True, help_text="Barème des opérateurs acheteurs"
    )

    class Meta:
        model = Campaign
        fields = ["developer", "buyer"]


class CampaignSerializer(serializers.ModelSerializer):
    schedule = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Barème des opérateurs acheteurs (voir `schedules`)"
    )
    schedules = CampaignSchedulesSerializer(source="*", read_only=True)
    advance_deadline = serializers.SerializerMethodField()
    balance_deadline = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "code",
            "label",
            "schedule",
            "schedules",
            "opening_date",
            "closure_date",
            "advance_deadline",
            "balance_deadline",
        ]

    def get_advance_deadline(self, obj) -> datetime:
        return end_of_day(obj.advance_deadline).isoformat()

    def get_balance_deadline(self, obj) -> datetime:
        return end_of_day(obj.balance_deadline).isoformat()
