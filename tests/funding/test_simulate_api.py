import pytest
from rest_framework.throttling import ScopedRateThrottle

from funding.api.serializers import OPERATOR_KIND_NEEDED, SCHEDULE_AND_CAMPAIGN, SCHEDULE_OR_CAMPAIGN
from funding.models import FundingSchedule
from tests.factories import segur_campaign

pytestmark = pytest.mark.django_db

URL = "/api/v1/funding/simulate"


@pytest.mark.parametrize(
    ("counts", "total"),
    [
        ({"APP": 700, "ORG": 5000, "PER": 40000}, "228000.00"),
        ({"APP": 5, "ORG": 200, "PER": 12000}, "44200.00"),
        ({"APP": 1, "ORG": 100, "PER": 900}, "9240.00"),
    ],
)
def test_anonymous_simulation_gives_the_workshop_totals(api_client, counts, total):
    response = api_client.post(URL, {"schedule": "workshop-2022-03", "counts": counts}, format="json")
    assert response.status_code == 200
    assert response.json()["total"] == total


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_simulate_answers_with_or_without_trailing_slash(api_client, path):
    response = api_client.post(
        path, {"schedule": "segur-2023", "counts": {"APP": 0, "ORG": 0, "PER": 0}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["total"] == "6666.67"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule": "workshop-2022-03", "counts": {"APP": -1, "ORG": 0, "PER": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": 1.5, "ORG": 0, "PER": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": "12", "ORG": 0, "PER": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": True, "ORG": 0, "PER": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": 10_000_001, "ORG": 0, "PER": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": 10**40, "ORG": 0, "PER": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": 1, "ORG": 0, "PER": 0, "CAB": 3}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": {"APP": 1, "ORG": 0}}, "counts"),
        ({"schedule": "workshop-2022-03", "counts": [1, 2, 3]}, "counts"),
        ({"schedule": "nope", "counts": {"APP": 1, "ORG": 1, "PER": 1}}, "schedule"),
        ({"schedule": "workshop-2022-03"}, "counts"),
        ({"counts": {"APP": 1, "ORG": 1, "PER": 1}}, "schedule"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client, body, field):
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid"
    assert any(key == field or key.startswith(f"{field}.") for key in payload["errors"])


def test_negative_count_error_names_the_mailbox_type(api_client):
    response = api_client.post(
        URL, {"schedule": "workshop-2022-03", "counts": {"APP": -1, "ORG": 0, "PER": 0}}, format="json"
    )
    # One level, as every error body: the nested field is named by its path.
    assert response.json()["errors"] == {"counts.APP": ["Le nombre de BAL ne peut pas être négatif."]}


@pytest.mark.parametrize("raw", ["[]", "{", "null", '"text"', "42"])
def test_body_that_is_not_a_json_object_is_a_400(api_client, raw):
    response = api_client.post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_simulate_is_throttled(api_client, settings):
    body = {"schedule": "segur-2023", "counts": {"APP": 0, "ORG": 0, "PER": 0}}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**original, "simulate": "3/min"}
    try:
        codes = [api_client.post(URL, body, format="json").status_code for _ in range(4)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 200, 429]


def test_schedules_are_listed_with_their_rates(api_client):
    response = api_client.get("/api/v1/schedules/")
    assert response.status_code == 200
    by_code = {s["code"]: s for s in response.json()["results"]}
    assert by_code["segur-2023"]["rates"] == {"APP": "58.33", "ORG": "20.83", "PER": "5.00"}
    assert by_code["segur-2023"]["cap"] == "250000.00"
    assert by_code["workshop-2022-03"]["base"] == "5000.00"


@pytest.mark.parametrize("path", ["/api/v1/campaigns/segur-mss-2023/", "/api/v1/campaigns/segur-mss-2023"])
def test_campaign_calendar_gives_end_of_day_paris_deadlines(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "code": "segur-mss-2023",
        "label": "Ségur opérateurs MSSanté 2023",
        "schedule": "segur-2023",
        "schedules": {"developer": "segur-2023", "buyer": "segur-2023"},
        "opening_date": "2022-06-01",
        "closure_date": "2023-06-30",
        "advance_deadline": "2023-09-22T23:59:59.999999+02:00",
        "balance_deadline": "2023-10-22T23:59:59.999999+02:00",
    }


@pytest.fixture
def split_campaign():
    """A campaign whose developers are priced under the workshop schedule, its buyers under segur-2023."""
    campaign = segur_campaign(code="split")
    campaign.developer_schedule = FundingSchedule.objects.get(code="workshop-2022-03")
    campaign.save()
    return campaign


WORKSHOP_A = {"APP": 700, "ORG": 5000, "PER": 40000}


@pytest.mark.parametrize(
    ("kind", "schedule", "total"),
    [("developer", "workshop-2022-03", "228000.00"), ("buyer", "segur-2023", "250000.00")],
)
def test_simulation_uses_the_campaign_schedule_of_the_operator_kind(api_client, split_campaign, kind, schedule, total):
    body = {"campaign": "split", "operator_kind": kind, "counts": WORKSHOP_A}
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 200
    by_schedule = api_client.post(URL, {"schedule": schedule, "counts": WORKSHOP_A}, format="json").json()
    assert response.json() == by_schedule  # the same shape (docs/spec/SPEC.md §6), naming the schedule applied
    assert response.json()["schedule"] == schedule and response.json()["total"] == total


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"schedule": [SCHEDULE_OR_CAMPAIGN]}),
        ({"operator_kind": "buyer"}, {"schedule": [SCHEDULE_OR_CAMPAIGN]}),
        ({"campaign": "split"}, {"operator_kind": [OPERATOR_KIND_NEEDED]}),
        ({"campaign": "nope", "operator_kind": "buyer"}, {"campaign": ["Campagne inconnue : « nope »."]}),
        (
            {"campaign": "split", "operator_kind": "reseller"},
            {"operator_kind": ["Type d'opérateur inconnu : « reseller » (attendus : developer, buyer)."]},
        ),
        (
            {"schedule": "segur-2023", "campaign": "split", "operator_kind": "buyer"},
            {name: [SCHEDULE_AND_CAMPAIGN] for name in ("schedule", "campaign", "operator_kind")},
        ),
        (
            {"schedule": "segur-2023", "campaign": "split"},
            {name: [SCHEDULE_AND_CAMPAIGN] for name in ("schedule", "campaign")},
        ),
        (
            {"schedule": "segur-2023", "operator_kind": "developer"},
            {name: [SCHEDULE_AND_CAMPAIGN] for name in ("schedule", "operator_kind")},
        ),
    ],
)
def test_bad_schedule_choice_is_a_400_with_field_errors(api_client, split_campaign, body, errors):
    response = api_client.post(URL, {**body, "counts": WORKSHOP_A}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Données invalides.", "code": "invalid", "errors": errors}


def test_campaign_list_gives_both_schedules_and_the_opening_date(api_client, split_campaign):
    response = api_client.get("/api/v1/campaigns/")
    assert response.status_code == 200
    split = next(c for c in response.json()["results"] if c["code"] == "split")
    assert split["schedule"] == "segur-2023"  # the buyers' schedule, as before
    assert split["schedules"] == {"developer": "workshop-2022-03", "buyer": "segur-2023"}
    assert split["opening_date"] == split_campaign.opening_date.isoformat()


def test_unknown_campaign_is_a_404_with_a_json_body(api_client):
    response = api_client.get("/api/v1/campaigns/nope/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_openapi_schema_and_docs_are_served(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/funding/simulate" in paths
    assert "/api/v1/campaigns/{code}" in paths
    components = schema.json()["components"]["schemas"]
    simulate = components["SimulateInputRequest"]
    assert set(simulate["properties"]) == {"schedule", "campaign", "operator_kind", "counts"}
    assert simulate["required"] == ["counts"]
    assert components["Campaign"]["properties"]["schedules"]["allOf"] == [
        {"$ref": "#/components/schemas/CampaignSchedules"}
    ]
    assert set(components["CampaignSchedules"]["properties"]) == {"developer", "buyer"}
    assert "opening_date" in components["Campaign"]["properties"]
    assert api_client.get("/api/docs/").status_code == 200
