"""The API server's body decision from headers alone (upstream's 3 MiB cap, Go's length rules)."""

from __future__ import annotations

import pytest

from nodelab.controlplane.http.body_limits import (
    MAX_REQUEST_BODY_BYTES,
    BodyPlan,
    Refusal,
    body_plan,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, BodyPlan()),
    ({"content-length": "12"}, BodyPlan(length=12)),
    ({"content-length": "12, 12"}, BodyPlan(length=12)),
    ({"content-length": str(MAX_REQUEST_BODY_BYTES)}, BodyPlan(length=MAX_REQUEST_BODY_BYTES)),
    ({"transfer-encoding": "chunked"}, BodyPlan(chunked=True)),
])
def test_accepted(headers: dict[str, str], expected: BodyPlan) -> None:
    assert body_plan(headers) == expected


@pytest.mark.parametrize(("headers", "code"), [
    ({"content-length": "-1"}, 400),
    ({"content-length": "1e3"}, 400),
    ({"content-length": "12, 13"}, 400),
    ({"content-length": " ٣"}, 400),
    ({"content-length": str(MAX_REQUEST_BODY_BYTES + 1)}, 413),
    ({"content-length": "99999999999999999999"}, 413),
    ({"transfer-encoding": "gzip"}, 501),
    ({"transfer-encoding": "chunked", "content-length": "5"}, 400),
])
def test_refused(headers: dict[str, str], code: int) -> None:
    plan = body_plan(headers)
    assert isinstance(plan, Refusal) and plan.code == code
