"""The one quantity parser (nodelab/kube/quantities.py), against upstream's resource.Quantity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nodelab.errors import NodelabError
from nodelab.kube.quantities import (
    InvalidQuantity,
    format_quantity,
    parse_quantity,
    quantity_value,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "value"), [
    ("2", Decimal(2)),
    (2, Decimal(2)),
    (1.5, Decimal("1.5")),
    ("100m", Decimal("0.1")),
    ("250u", Decimal("0.00025")),
    ("5n", Decimal("0.000000005")),
    ("1k", Decimal(1000)),
    ("1G", Decimal(10**9)),
    ("1Gi", Decimal(2**30)),
    ("1.5Mi", Decimal(3 * 2**19)),
    ("1e3", Decimal(1000)),
    ("2E-3", Decimal("0.002")),
    (" 64Mi ", Decimal(64 * 2**20)),
])
def test_quantity_value_is_exact(text: object, value: Decimal) -> None:
    assert quantity_value(text) == value


@pytest.mark.parametrize(("text", "milli", "value"), [
    ("100Mi", False, 100 * 2**20),
    ("500m", True, 500),
    ("1.5", True, 1500),
    ("1m", False, 1),  # rounded up, as upstream's Value()
    ("0.1m", True, 1),
])
def test_parse_quantity_rounds_up_to_integers(text: str, milli: bool, value: int) -> None:
    assert parse_quantity(text, milli=milli) == value


@pytest.mark.parametrize("text", ["", "Mi", "1Xi", "1.2.3", "one", None, [1]])
def test_invalid_quantities_say_what_to_write(text: object) -> None:
    with pytest.raises(InvalidQuantity, match="invalid quantity"):
        quantity_value(text)


def test_invalid_quantity_is_both_a_user_error_and_a_value_error() -> None:
    assert issubclass(InvalidQuantity, NodelabError)
    assert issubclass(InvalidQuantity, ValueError)


@pytest.mark.parametrize(("value", "like", "text"), [
    (2 * 2**20, "2048Ki", "2Mi"),  # upstream's String(): canonical, in the format written
    (3 * 2**20, "1Mi", "3Mi"),
    (1536, "1.5Ki", "1536"),
    (512, "512", "512"),
    (2 * 10**6, "2000k", "2M"),
    (1500000, "1500000", "1500k"),
    (10**18, "1E", "1E"),
    (10**6, "1e6", "1e6"),
    (0, "0", "0"),
])
def test_format_quantity_writes_upstreams_canonical_form(value: int, like: str,
                                                         text: str) -> None:
    assert format_quantity(value, like) == text
