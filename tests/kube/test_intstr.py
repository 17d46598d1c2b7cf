"""IntOrString (nodelab/kube/intstr.py), with upstream's own cases: apimachinery's
pkg/util/intstr `TestGetIntFromIntOrPercent` and `TestGetValueFromIntOrPercentNil`, and
pkg/util/validation `TestIsValidPercent`."""

from __future__ import annotations

import pytest

from nodelab.kube.intstr import (
    PERCENT_MESSAGE,
    InvalidIntOrString,
    atoi,
    int_or_percent_value,
    is_valid_percent,
    percent_value,
    scaled_value,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("value", "total", "round_up", "expected"), [
    (123, 0, False, 123),
    ("90%", 100, True, 90),
    ("90%", 95, True, 86),
    ("90%", 95, False, 85),
    # the callers' roundings: a Deployment of 10 with the 25% defaults surges 3, drops 2
    ("25%", 10, True, 3),
    ("25%", 10, False, 2),
    ("0%", 10, True, 0),
    ("100%", 3, False, 3),
    (0, 10, True, 0),
])
def test_scaled_value(value: object, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("%", 'invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": '
          "invalid syntax"),
    ("90#", "invalid value for IntOrString: invalid type: string is not a percentage"),
    ("#%", 'invalid value for IntOrString: invalid value "#%": strconv.Atoi: parsing "#": '
           "invalid syntax"),
    ("90", "invalid value for IntOrString: invalid type: string is not a percentage"),
    (None, "nil value for IntOrString"),
])
def test_scaled_value_refuses_what_upstream_refuses(value: object, message: str) -> None:
    with pytest.raises(InvalidIntOrString) as failure:
        scaled_value(value, 100, True)
    assert str(failure.value) == message


@pytest.mark.parametrize("text", ["0%", "00000%", "1%", "01%", "99%", "100%", "101%"])
def test_valid_percents(text: str) -> None:
    assert is_valid_percent(text) == []


@pytest.mark.parametrize("text", ["", "0", "100", "0.0%", "99.9%", "hundred", " 1%", "1% ",
                                  "-0%", "-1%", "+1%", "1%\n", "１%"])
def test_invalid_percents(text: str) -> None:
    assert is_valid_percent(text) == [PERCENT_MESSAGE]


@pytest.mark.parametrize(("text", "value", "error"), [
    ("42", 42, ""),
    ("+7", 7, ""),
    ("-7", -7, ""),
    ("007", 7, ""),
    ("", 0, 'strconv.Atoi: parsing "": invalid syntax'),
    (" 1", 0, 'strconv.Atoi: parsing " 1": invalid syntax'),
    ("1_000", 0, 'strconv.Atoi: parsing "1_000": invalid syntax'),
    ("1.0", 0, 'strconv.Atoi: parsing "1.0": invalid syntax'),
    ("99999999999999999999", 2**63 - 1,
     'strconv.Atoi: parsing "99999999999999999999": value out of range'),
])
def test_atoi_is_gos(text: str, value: int, error: str) -> None:
    assert atoi(text) == (value, error)


@pytest.mark.parametrize(("value", "percent", "int_or_percent"), [
    ("25%", 25, 25),
    ("0%", 0, 0),
    ("150%", 150, 150),
    (3, None, 3),
    (2.0, None, 2),
    (None, None, 0),
    ("5", None, 5),  # IntValue(): Atoi of a string that is no percent
    ("abc", None, 0),
    ("-1%", None, 0),
    ("5.5%", None, 0),
])
def test_validations_reading(value: object, percent: int | None, int_or_percent: int) -> None:
    assert percent_value(value) == percent
    assert int_or_percent_value(value) == int_or_percent
