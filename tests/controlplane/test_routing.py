"""How a request's verb and the name it is authorized for are resolved (RequestInfoFactory)."""

from __future__ import annotations

import pytest

from nodelab.controlplane.http.routing import selector_name, selector_value

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("verb", "selector", "name"), [
    ("list", "metadata.name=kube-root-ca.crt", "kube-root-ca.crt"),
    ("watch", "metadata.name==app-config", "app-config"),
    ("watch", "metadata.namespace=default,metadata.name=x", "x"),
    ("list", " metadata.name = x ", "x"),
    ("list", "metadata.name!=x", ""),  # not one object
    ("list", "spec.nodeName=n1", ""),
    ("list", "", ""),
    ("list", "metadata.name=..", ""),  # no valid path segment
    ("list", "metadata.name=a/b", ""),
    ("get", "metadata.name=x", ""),  # only lists and watches
    ("deletecollection", "metadata.name=x", ""),
])
def test_a_list_or_watch_for_one_name_is_authorized_as_that_object(
        verb: str, selector: str, name: str) -> None:
    query = {"fieldSelector": selector} if selector else {}
    assert selector_name(verb, query) == name


@pytest.mark.parametrize(("verb", "selector", "value"), [
    ("list", "spec.nodeName=n1", "n1"),
    ("watch", "status.phase!=Failed,spec.nodeName==n1", "n1"),
    ("list", "spec.nodeName!=n1", ""),
    ("list", "metadata.name=n1", ""),
    ("get", "spec.nodeName=n1", ""),
])
def test_the_node_a_pod_list_is_for(verb: str, selector: str, value: str) -> None:
    """What the Node authorizer asks of a kubelet's pod list or watch."""
    assert selector_value(verb, {"fieldSelector": selector}, "spec.nodeName") == value
