"""Ship the two published schedules and the 2023 campaign as data (docs/spec/SPEC.md §2–3)."""

from decimal import Decimal

from django.db import migrations

SCHEDULES = [
    {
        "code": "workshop-2022-03",
        "label": "Atelier modèle économique #3 (18 mars 2022)",
        "source": "Atelier modèle économique #3 du 18 mars 2022 — barème présenté aux opérateurs",
        "rate_app": Decimal("40.00"),
        "rate_org": Decimal("15.00"),
        "rate_per": Decimal("3.00"),
        "base": Decimal("5000.00"),
        "cap": Decimal("300000.00"),
        "advance_share": Decimal("0.3000"),
    },
    {
        "code": "segur-2023",
        "label": "Financement Ségur opérateurs MSSanté 2023",
        "source": "Page ANS « financement opérateur-acheteur » — clôture au 30 juin 2023",
        "rate_app": Decimal("58.33"),
        "rate_org": Decimal("20.83"),
        "rate_per": Decimal("5.00"),
        "base": Decimal("6666.67"),
        "cap": Decimal("250000.00"),
        "advance_share": Decimal("0.3000"),
    },
]


def forwards(apps, schema_editor):
    FundingSchedule = apps.get_model("funding", "FundingSchedule")
    Campaign = apps.get_model("funding", "Campaign")
    for data in SCHEDULES:
        FundingSchedule.objects.update_or_create(code=data["code"], defaults=data)
    Campaign.objects.update_or_create(
        code="segur-mss-2023",
        defaults={
            "label": "Ségur opérateurs MSSanté 2023",
            "schedule": FundingSchedule.objects.get(code="segur-2023"),
            "closure_date": "2023-06-30",
            "advance_deadline": "2023-09-22",
            "balance_deadline": "2023-10-22",
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("funding", "Campaign").objects.filter(code="segur-mss-2023").delete()
    apps.get_model("funding", "FundingSchedule").objects.filter(code__in=[s["code"] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("funding", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
