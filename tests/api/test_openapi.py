"""The OpenAPI document: complete (every operation documents its errors, schemas carry examples), and a
property-based run over it (schemathesis) that finds no 5xx and no response violating the document.
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason='schemathesis is in the dev extra: pip install -e ".[dev]"')

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import Settings, create_app  # noqa: E402
from tests.api.conftest import ALICE, BOB, StandInRunner, auth  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def openapi(tmp_path, real_result) -> Any:
    app = create_app(
        Settings(api_keys=[ALICE, BOB], data_dir=tmp_path / "data", recommend_wait_s=0.5),
        runner=StandInRunner(real_result),
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    from schemathesis.python.asgi import shutdown_lifespans

    shutdown_lifespans()


@pytest.fixture
def document(tmp_path) -> dict[str, Any]:
    return create_app(Settings(api_keys=[ALICE], data_dir=tmp_path)).openapi()


def test_every_operation_documents_its_responses(document: dict[str, Any]) -> None:
    operations = {(m.upper(), p): op for p, item in document["paths"].items() for m, op in item.items()}
    assert set(operations) == {
        ("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs"),
        ("GET", "/v1/jobs/{job_id}"), ("DELETE", "/v1/jobs/{job_id}"), ("GET", "/v1/jobs/{job_id}/recommendation"),
        ("GET", "/v1/jobs/{job_id}/report"), ("GET", "/v1/jobs/{job_id}/verification"), ("POST", "/v1/recommend"),
    }  # fmt: skip
    error_ref = "#/components/schemas/ErrorBody"
    for (method, path), op in operations.items():
        assert op.get("summary") and op.get("description"), (method, path)
        if path.startswith("/v1"):
            assert {"401", "422"} <= set(op["responses"]), (method, path)
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"]["$ref"] == error_ref
            assert op["security"] == [{"HTTPBearer": []}]
    submit = operations[("POST", "/v1/jobs")]["requestBody"]["content"]
    assert set(submit) == {"multipart/form-data", "application/json"}
    assert submit["application/json"]["schema"]["$ref"] == "#/components/schemas/JobRequest"
    assert operations[("GET", "/v1/jobs/{job_id}/recommendation")]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["$ref"].endswith("/Recommendation")


def test_schemas_have_examples(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("ErrorBody", "Job", "JobRequest"):
        assert schemas[name].get("examples"), name
    assert "DatasetSpec" in schemas and "Recommendation" in schemas


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_conforms_to_its_openapi_document(openapi: Any, mode: str) -> None:
    """Every operation, with generated valid (positive) and invalid (negative) requests, authenticated as Alice."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable

    generation_mode = schemathesis.GenerationMode(mode)
    operations = [result.ok() for result in openapi.get_all_operations()]
    assert len(operations) == 10
    tested = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=generation_mode))
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=auth(ALICE), checks=CHECKS)

        try:
            conforms()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body): /healthz, /readyz
            assert mode == "negative" and not operation.path.startswith("/v1/jobs"), operation.label
            continue
        tested += 1
    assert tested >= 7


def test_the_documented_examples_conform(openapi: Any) -> None:
    """schemathesis's examples phase: every example in the document, sent as it is, gets a conforming answer."""
    from schemathesis.generation.hypothesis import examples

    sent: dict[str, list[int]] = {}
    for result in openapi.get_all_operations():
        operation = result.ok()
        for strategy in operation.get_strategies_from_examples(fill_missing=True):
            case = examples.generate_one(strategy)
            response = case.call_and_validate(headers=auth(ALICE), checks=CHECKS)
            sent.setdefault(operation.label, []).append(response.status_code)
    # The job request's example is accepted as it stands (202), not merely answered without a 5xx.
    assert 202 in sent.get("POST /v1/jobs", []), sent
