"""The naming and establishing controllers (status.acceptedNames, NamesAccepted,
Established), as upstream's naming controller decides them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodelab.controlplane.apiextensions import naming
from tests.controlplane.apiextensions.crontab import CRONTAB_CRD

pytestmark = pytest.mark.unit
NOW = "2026-01-01T00:00:00Z"


def _crd(name: str, **names: Any) -> dict[str, Any]:
    crd = copy.deepcopy(CRONTAB_CRD)
    crd["metadata"]["name"] = name
    crd["spec"]["names"] = {"listKind": f"{names['kind']}List", **names}
    return crd


def _accepted(crd: dict[str, Any]) -> dict[str, Any]:
    crd["status"] = naming.desired_status(crd, [crd], NOW)
    return crd


def _conditions(status: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]]


def test_names_are_accepted_and_the_crd_established() -> None:
    crd = copy.deepcopy(CRONTAB_CRD)
    status = naming.desired_status(crd, [crd], NOW)
    assert status["acceptedNames"]["plural"] == "crontabs"
    assert _conditions(status) == [
        ("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        ("Established", "True", "InitialNamesAccepted", "the initial names have been accepted")]


CONFLICTS = [
    ("plural as another's singular", {"plural": "crontab", "singular": "other",
                                      "kind": "Other"},
     ("PluralConflict", '"crontab" is already in use')),
    ("singular", {"plural": "others", "singular": "crontab", "kind": "Other"},
     ("SingularConflict", '"crontab" is already in use')),
    ("short name", {"plural": "others", "singular": "other", "kind": "Other",
                    "shortNames": ["ct"]}, ("ShortNamesConflict", '"ct" is already in use')),
    ("kind", {"plural": "others", "singular": "other", "kind": "CronTab"},
     ("KindConflict", '"CronTab" is already in use')),
]


@pytest.mark.parametrize(("names", "expected"), [(c[1], c[2]) for c in CONFLICTS],
                         ids=[c[0] for c in CONFLICTS])
def test_a_name_another_crd_of_the_group_holds(names: dict[str, Any],
                                               expected: tuple[str, str]) -> None:
    first = _accepted(_crd("crontabs.stable.example.com", plural="crontabs",
                           singular="crontab", kind="CronTab", shortNames=["ct"]))
    second = _crd(f"{names['plural']}.stable.example.com", **names)
    status = naming.desired_status(second, [first, second], NOW)
    assert _conditions(status) == [
        ("NamesAccepted", "False", *expected),
        ("Established", "False", "NotAccepted", "not all names are accepted")]
    assert status["acceptedNames"] == {"plural": "", "kind": ""}


def test_an_established_crd_stays_established_and_terminates() -> None:
    crd = _accepted(copy.deepcopy(CRONTAB_CRD))
    crd["metadata"]["deletionTimestamp"] = NOW
    status = naming.desired_status(crd, [crd], "2026-01-02T00:00:00Z")
    assert [c[:3] for c in _conditions(status)] == [
        ("NamesAccepted", "True", "NoConflicts"), ("Established", "True", "InitialNamesAccepted"),
        ("Terminating", "True", "InstanceDeletionInProgress")]
    assert status["conditions"][0]["lastTransitionTime"] == NOW
