"""An operator's IT team's view of the API (issue 17): a Python client generated from the live schema by
openapi-python-client must generate without warnings, import, and run the operator's journey — token,
list, create an advance on `demo-open`, upload a PDF, submit, read events, a 404 and a 409 parsed as
`Error`, download the proof — with no hand-written HTTP.

The generated client talks to the app in-process (httpx's WSGI transport over Django's WSGI handler,
inside the test's transaction, as the test client does). Operations are found by method and path, not
by generated module name, so renaming operationIds does not break the test.

Where the schema does not yet allow the generated client to do a step (the fixes of issue 17 items 1
and 2, on the `apischema` branch), the step is done another way (a service call, never hand-written
HTTP) so the rest of the journey still runs, and the test ends in `pytest.xfail("needs apischema: …")`
naming each gap. Once the schema is fixed, no gap is found and the test simply passes.
"""

import importlib
import inspect
import io
import os
import re
import subprocess
import sys
import typing
import uuid
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from django.test import Client as DjangoClient

from claims import services as claim_services
from claims.models import Claim
from operators import services as operator_services
from tests.factories import PDF

pytestmark = [pytest.mark.client_gen, pytest.mark.django_db]

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "segur_generated_client"
BASE_URL = "http://testserver"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_setup, django_db_blocker):
    """(package, generator output): the client generated from `GET /api/schema/`, importable."""
    with django_db_blocker.unblock():
        response = DjangoClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    root = tmp_path_factory.mktemp("generated")
    schema = root / "schema.json"
    schema.write_bytes(response.content)
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema), "--output-path", str(root / PACKAGE), "--meta", "none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE), run.stdout + run.stderr
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api_modules(package):
    return sorted(
        str(path.relative_to(Path(package.__file__).parent.parent).with_suffix("")).replace(os.sep, ".")
        for path in Path(package.__file__).parent.glob("api/**/*.py")
        if path.name != "__init__.py"
    )


def every_module(package):
    base = Path(package.__file__).parent
    return sorted(
        str(path.relative_to(base.parent).with_suffix("")).replace(os.sep, ".").removesuffix(".__init__")
        for path in base.rglob("*.py")
    )


def test_generation_prints_no_warning(generated):
    _package, output = generated
    warnings = re.findall(r"WARNING parsing (.+?) within", output)
    if warnings and all("/download" in w for w in warnings) and "Unsupported content_type application/pdf" in output:
        pytest.xfail(
            "needs apischema: downloads declared as one binary response (issue 17 item 1): the generator drops "
            f"`application/pdf, image/png, image/jpeg` on {', '.join(warnings)}"
        )
    assert "Warning" not in output and "WARNING" not in output, output


def test_every_generated_module_imports(generated):
    package, _ = generated
    failures = {}
    for name in every_module(package):
        try:
            importlib.import_module(name)
        except Exception as error:  # every failure is reported together below
            failures[name] = repr(error)
    if failures and all("Unset" in error for error in failures.values()):
        pytest.xfail(
            "needs apischema: one request content type per operation (issue 17 item 1): JSON bodies also "
            f"documented as form and multipart make these modules fail with NameError 'Unset': {sorted(failures)}"
        )
    assert failures == {}


# --- The journey ------------------------------------------------------------------------------------


class Operations:
    """The generated modules by (method, path template), read from their `_get_kwargs`."""

    def __init__(self, package):
        self.package = package
        self.sources = {}
        for name in api_modules(package):
            source = (Path(package.__file__).parent.parent / (name.replace(".", os.sep) + ".py")).read_text()
            method = re.search(r'"method": "(\w+)"', source)
            url = re.search(r'"url": f?"([^"]+)"', source)
            if method and url:
                self.sources[method.group(1), url.group(1)] = name

    def __call__(self, method, path):
        """The module of an operation (ImportError when it does not import)."""
        return importlib.import_module(self.sources[method, path])

    @staticmethod
    def body_type(module):
        """The model class of the operation's `body` (the first of a union)."""
        hints = typing.get_type_hints(module.sync_detailed)
        candidates = typing.get_args(hints["body"]) or (hints["body"],)
        return next(c for c in candidates if inspect.isclass(c) and hasattr(c, "from_dict"))


@pytest.fixture
def transport(settings):
    """httpx's WSGI transport to the app; like Django's test client, requests do not close the test's
    database connection (close_old_connections is unhooked while the test runs)."""

    settings.EVENTS_FEED_DELAY_SECONDS = 0
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield httpx.WSGITransport(app=WSGIHandler())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def parsed_error(response, code):
    assert type(response.parsed).__name__ == "Error", (response.status_code, response.content)
    assert response.parsed.code == code
    return response.parsed


def test_the_operator_journey_runs_on_the_generated_client(generated, transport):
    package, _ = generated

    call_command("seed_demo", stdout=StringIO())
    gaps = []
    op = Operations(package)
    client_module = importlib.import_module(f"{PACKAGE}.client")
    errors = importlib.import_module(f"{PACKAGE}.errors")
    types = importlib.import_module(f"{PACKAGE}.types")
    anonymous = client_module.Client(base_url=BASE_URL, httpx_args={"transport": transport})

    # 1. A token.
    try:
        obtain = op("post", "/api/v1/auth/token")
        body = Operations.body_type(obtain).from_dict({"username": "op-alpha", "password": "demo-password"})
        token = obtain.sync_detailed(client=anonymous, body=body).parsed.token
    except NameError as error:
        gaps.append(f"token: the module does not import ({error}; one JSON request content type, item 1)")
        token = operator_services.api_token_issue(user=get_user_model().objects.get(username="op-alpha"), name="gen")[1]
    client = client_module.AuthenticatedClient(
        base_url=BASE_URL, token=token, raise_on_unexpected_status=True, httpx_args={"transport": transport}
    )

    # 2. The claims list (Bearer, as the generated client sends it).
    list_claims = op("get", "/api/v1/claims")
    listed = list_claims.sync_detailed(client=client)
    if listed.status_code == 401:
        gaps.append("auth: `Authorization: Bearer` is refused (an HTTP bearer scheme accepting Bearer, item 1)")
        client = client_module.AuthenticatedClient(
            base_url=BASE_URL,
            token=token,
            prefix="Token",
            raise_on_unexpected_status=True,
            httpx_args={"transport": transport},
        )
        listed = list_claims.sync_detailed(client=client)
    assert listed.status_code == 200
    before = listed.parsed.count

    # 3. An advance on demo-open, retried with the same Idempotency-Key: one claim.
    create = op("post", "/api/v1/claims")
    body = Operations.body_type(create).from_dict({"campaign": "demo-open", "kind": "advance"})
    key = str(uuid.uuid4())
    created = create.sync_detailed(client=client, body=body, idempotency_key=key)
    assert created.status_code == 201, created.content
    claim_id = created.parsed.id
    assert created.headers["Location"] == f"/api/v1/claims/{claim_id}"
    retried = create.sync_detailed(client=client, body=body, idempotency_key=key)
    assert (retried.status_code, retried.parsed.id, retried.headers["Idempotent-Replayed"]) == (201, claim_id, "true")
    assert list_claims.sync_detailed(client=client).parsed.count == before + 1

    # 4. A PDF proof.
    upload = op("post", "/api/v1/claims/{id}/documents")
    document_model = Operations.body_type(upload)
    kind = "conformity_report"
    document_body = document_model.from_dict({"kind": kind, "file": b""})
    document_body.file = types.File(payload=io.BytesIO(PDF), file_name="rapport.pdf", mime_type="application/pdf")
    uploaded = upload.sync_detailed(claim_id, client=client, body=document_body)
    if uploaded.status_code == 400 and "file" in uploaded.parsed.to_dict()["errors"]:
        gaps.append(
            f"upload: the file is sent as text, 400 {uploaded.parsed.to_dict()['errors']} (format: binary, item 1)"
        )
        document_id = claim_services.document_upload(
            claim=Claim.objects.get(pk=claim_id),
            actor=get_user_model().objects.get(username="op-alpha"),
            kind=kind,
            uploaded_file=SimpleUploadedFile("rapport.pdf", PDF, "application/pdf"),
        ).pk
    else:
        assert uploaded.status_code == 201, uploaded.content
        document_id = uploaded.parsed.id

    # 5. Submit: a stale If-Match is a 412 parsed as Error; the current ETag submits.
    read = op("get", "/api/v1/claims/{id}").sync_detailed(claim_id, client=client)
    submit = op("post", "/api/v1/claims/{id}/submit")
    stale = submit.sync_detailed(claim_id, client=client, if_match=created.headers["ETag"])
    assert stale.status_code == 412
    parsed_error(stale, "precondition_failed")
    submitted = submit.sync_detailed(
        claim_id, client=client, if_match=read.headers["ETag"], idempotency_key=str(uuid.uuid4())
    )
    assert submitted.status_code == 200, submitted.content
    assert str(getattr(submitted.parsed.state, "value", submitted.parsed.state)) == "submitted"

    # 6. The events feed shows the creation and the submission.
    events = op("get", "/api/v1/events").sync_detailed(client=client, limit=200)
    assert events.status_code == 200
    ours = [item.to_dict() for item in events.parsed.results]
    ours = [item for item in ours if item["data"].get("claim", {}).get("id") == claim_id]
    assert [item["type"] for item in ours][:1] == ["claim.created"]
    changes = [event for event in ours if event["type"] == "claim.state_changed"]
    assert changes[-1]["data"]["event"]["to_state"] == "submitted"

    # 7. A 404 and a 409, parsed as Error.
    parsed_error(op("get", "/api/v1/claims/{id}").sync_detailed(999_999, client=client), "not_found")
    parsed_error(submit.sync_detailed(claim_id, client=client), "conflict")

    # 8. The proof comes back as it was sent.
    download = op("get", "/api/v1/claims/{id}/documents/{doc_id}/download")
    try:
        downloaded = download.sync_detailed(claim_id, document_id, client=client)
        payload = downloaded.parsed.payload.read() if hasattr(downloaded.parsed, "payload") else downloaded.content
    except errors.UnexpectedStatus as error:
        assert error.status_code == 200
        gaps.append("download: the binary 200 is not in the generated client, UnexpectedStatus 200 (item 1)")
        payload = error.content
    assert payload == PDF

    if gaps:
        pytest.xfail("needs apischema: " + "; ".join(gaps))
