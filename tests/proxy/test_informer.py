"""The watch loop's cache: list and watch events in, a ProxyState out, changes detected."""

from __future__ import annotations

import pytest

from nodelab.proxy.watch import SERVICES, SLICES, ProxyInformer
from tests.proxy.test_objects import SERVICE, SLICE

pytestmark = pytest.mark.unit


def test_ready_only_after_both_lists() -> None:
    inf = ProxyInformer()
    assert inf.replace(SERVICES, [SERVICE])
    assert not inf.ready
    inf.replace(SLICES, [])
    assert inf.ready


def test_events_change_state_only_when_proxied_fields_change() -> None:
    inf = ProxyInformer()
    inf.replace(SERVICES, [])
    inf.replace(SLICES, [])
    assert inf.apply(SERVICES, "ADDED", SERVICE)
    annotated = {**SERVICE, "metadata": {**SERVICE["metadata"], "annotations": {"a": "b"}}}
    assert not inf.apply(SERVICES, "MODIFIED", annotated)
    assert inf.apply(SLICES, "ADDED", SLICE)
    assert set(inf.state().slices) == {("demo", "web-x1")}
    assert inf.apply(SLICES, "DELETED", SLICE)
    assert not inf.apply(SLICES, "DELETED", SLICE)
    headless = {"metadata": {"namespace": "demo", "name": "web"}, "spec": {"clusterIP": "None"}}
    assert inf.apply(SERVICES, "MODIFIED", headless)
    assert inf.state().services == {}
