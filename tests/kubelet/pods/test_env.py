"""The container environment as upstream's kubelet computes it: expansion, service variables,
the downward API, envFrom and the errors that hold a container in CreateContainerConfigError."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from nodelab.kubelet.pods.cri_plan import container_config
from nodelab.kubelet.pods.downward import DownwardError, field_value, resource_value
from nodelab.kubelet.pods.env.expansion import expand, mapping_for
from nodelab.kubelet.pods.env.service_env import service_env
from nodelab.kubelet.pods.env.variables import EnvError, EnvSources, command_and_args, container_env

pytestmark = pytest.mark.unit

CONTEXT = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}

# upstream's third_party/forked/golang/expansion/expand_test.go, case for case
EXPANSIONS = [
    ("$(VAR_A)", "A"), ("$(VAR_A)-$(VAR_A)", "A-A"), ("$(VAR_A)-1", "A-1"),
    ("___$(VAR_B)___", "___B___"), ("___$(VAR_C)", "___C"), ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
    ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"), ("$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"),
    ("f000-$$VAR_A", "f000-$VAR_A"), ("foo\\$(VAR_C)bar", "foo\\Cbar"),
    ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"), ("foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"),
    ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"), ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
    ("$(VAR_REF)", "$(VAR_A)"), ("%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"),
    ("foo$(VAR_EMPTY)bar", "foobar"), ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
    ("f00__(VAR_A)__", "f00__(VAR_A)__"), ("$?_boo_$!", "$?_boo_$!"), ("$VAR_A", "$VAR_A"),
    ("$(VAR_DNE)", "$(VAR_DNE)"), ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
    ("$$$$$$(VAR_A)", "$$$(VAR_A)"), ("$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"),
    ("$$$$$$$(VAR_A)", "$$$A"), ("$VAR_A)", "$VAR_A)"), ("${VAR_A}", "${VAR_A}"),
    ("$(VAR_B)_______$(A", "B_______$(A"), ("$(VAR_C)_______$(", "C_______$("),
    ("$(VAR_A)foobarzab$", "Afoobarzab$"), ("foo-\\$(VAR_A", "foo-\\$(VAR_A"),
    ("--$($($($($--", "--$($($($($--"), ("$($($($($--foo$(", "$($($($($--foo$("),
    ("foo0--$($($($(", "foo0--$($($($("), ("$(foo$$var)", "$(foo$$var)"), ("\n", "\n"),
]


@pytest.mark.parametrize(("text", "expected"), EXPANSIONS)
def test_expansion_matches_upstream(text: str, expected: str) -> None:
    assert expand(text, mapping_for(CONTEXT)) == expected
    split = mapping_for({"VAR_A": "A", "VAR_EMPTY": ""},
                        {"VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)"})
    assert expand(text, split) == expected


def svc(name: str, namespace: str, ip: str, *ports: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": list(ports)}}


SERVICES = [
    svc("kubernetes", "default", "10.96.0.1", {"name": "https", "port": 443}),
    svc("my-svc", "shop", "10.96.0.5", {"name": "http", "port": 80},
        {"name": "dns", "port": 53, "protocol": "UDP"}),
    svc("headless", "shop", "None", {"port": 80}),
    svc("elsewhere", "other", "10.96.0.9", {"port": 80}),
]


def test_service_variables_as_upstream() -> None:
    env = service_env(SERVICES, "shop", enable_links=True)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert env["MY_SVC_SERVICE_HOST"] == "10.96.0.5"
    assert env["MY_SVC_SERVICE_PORT"] == "80"
    assert env["MY_SVC_SERVICE_PORT_HTTP"] == "80" and env["MY_SVC_SERVICE_PORT_DNS"] == "53"
    assert env["MY_SVC_PORT"] == "tcp://10.96.0.5:80"
    assert env["MY_SVC_PORT_53_UDP"] == "udp://10.96.0.5:53"
    assert env["MY_SVC_PORT_53_UDP_PROTO"] == "udp"
    assert env["MY_SVC_PORT_53_UDP_PORT"] == "53"
    assert env["MY_SVC_PORT_53_UDP_ADDR"] == "10.96.0.5"
    assert not any(k.startswith(("HEADLESS", "ELSEWHERE")) for k in env)
    without = service_env(SERVICES, "shop", enable_links=False)
    assert "KUBERNETES_SERVICE_HOST" in without and "MY_SVC_SERVICE_HOST" not in without


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop", "uid": "u1",
                         "labels": {"app": "web"}, "annotations": {"note": 'say "hi"'}},
            "spec": {"nodeName": "node1", "serviceAccountName": "default",
                     "containers": list(containers), **spec},
            "status": {}}


def test_field_paths() -> None:
    p = pod({"name": "c"})
    ips = {"pod_ips": ["10.244.0.5", "fd00::5"], "host_ips": ["172.29.1.11"]}
    expected = {
        "metadata.name": "web", "metadata.namespace": "shop", "metadata.uid": "u1",
        "metadata.labels['app']": "web", "metadata.annotations['note']": 'say "hi"',
        "metadata.labels['absent']": "", "spec.nodeName": "node1",
        "spec.serviceAccountName": "default", "status.podIP": "10.244.0.5",
        "status.podIPs": "10.244.0.5,fd00::5", "status.hostIP": "172.29.1.11",
        "status.hostIPs": "172.29.1.11", "metadata.annotations": 'note="say \\"hi\\""',
    }
    assert {path: field_value(p, path, **ips) for path in expected} == expected
    with pytest.raises(DownwardError, match="unsupported fieldPath: spec.hostname"):
        field_value(p, "spec.hostname")


ALLOCATABLE = {"cpu": 2000, "memory": 4 * 2**30, "ephemeral-storage": 10 * 2**30}


@pytest.mark.parametrize(("resource", "divisor", "expected"), [
    ("limits.cpu", None, "1"), ("limits.cpu", "1m", "500"), ("requests.cpu", "1m", "250"),
    ("requests.cpu", None, "1"), ("limits.memory", "1Mi", "64"), ("limits.memory", None,
                                                                   str(64 * 2**20)),
    ("requests.memory", "1Mi", "64"),  # no request: the limit (API defaulting)
    ("limits.ephemeral-storage", "1Gi", "10"),  # no limit: the node's allocatable
    ("requests.ephemeral-storage", None, "0"),
])
def test_resource_field_refs(resource: str, divisor: str | None, expected: str) -> None:
    container = {"name": "c", "resources": {"requests": {"cpu": "250m"},
                                            "limits": {"cpu": "500m", "memory": "64Mi"}}}
    assert resource_value(pod(container), container, resource, divisor, ALLOCATABLE) == expected


def test_unset_cpu_limit_reads_allocatable() -> None:
    assert resource_value(pod({}), {}, "limits.cpu", "1m", ALLOCATABLE) == "2000"


class Objects:
    def __init__(self, **objects: dict[str, Any]) -> None:
        self.objects = objects
        self.asked: list[tuple[str, str, str]] = []

    def fetch(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.asked.append((kind, namespace, name))
        return self.objects.get(f"{kind}/{name}")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OBJECTS = Objects(**{
    "configmaps/cfg": {"data": {"COLOR": "blue", "1bad": "x", "with.dot": "ok"}},
    "secrets/creds": {"data": {"USER": b64("admin"), "PASS": b64("s3cret")}},
})


def env_of(container: dict[str, Any], services: list[dict[str, Any]] | None = None,
           **spec: Any) -> tuple[dict[str, str], list[tuple[str, str]]]:
    plan = container_env(pod(container, **spec), container, EnvSources(
        OBJECTS.fetch, services=services or [], pod_ips=["10.244.0.5"],
        host_ips=["172.29.1.11"], allocatable=ALLOCATABLE))
    return plan.as_dict(), plan.warnings


def test_env_from_with_prefix_and_invalid_keys() -> None:
    env, warnings = env_of({"name": "c", "envFrom": [
        {"configMapRef": {"name": "cfg"}},
        {"prefix": "DB_", "secretRef": {"name": "creds"}},
        {"configMapRef": {"name": "gone", "optional": True}}]})
    assert env == {"COLOR": "blue", "with.dot": "ok", "DB_USER": "admin", "DB_PASS": "s3cret"}
    assert warnings == [("InvalidEnvironmentVariableNames",
                         "Keys [1bad] from the EnvFrom configmap shop/cfg were skipped since "
                         "they are considered invalid environment variable names.")]


def test_env_values_sources_and_expansion_order() -> None:
    env, _ = env_of({"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}], "env": [
        {"name": "COLOR", "value": "dark-$(COLOR)"},  # envFrom first, env overrides
        {"name": "WHO", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "USER"}}},
        {"name": "GREETING", "value": "hi $(WHO) at $(MY_SVC_SERVICE_HOST), $$(WHO) $(LATER)"},
        {"name": "LATER", "value": "x"},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                           "divisor": "1Gi"}}},
        {"name": "MAYBE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope",
                                                            "optional": True}}},
        {"name": "EMPTY", "value": ""}]}, services=SERVICES)
    assert env["COLOR"] == "dark-blue" and env["WHO"] == "admin"
    assert env["GREETING"] == "hi admin at 10.96.0.5, $(WHO) $(LATER)"
    assert env["POD_IP"] == "10.244.0.5" and env["MEM"] == "4" and env["EMPTY"] == ""
    assert "MAYBE" not in env
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


def test_a_declared_variable_wins_over_a_service_variable() -> None:
    env, _ = env_of({"name": "c", "env": [{"name": "MY_SVC_SERVICE_HOST", "value": "mine"}]},
                    services=SERVICES)
    assert env["MY_SVC_SERVICE_HOST"] == "mine"
    env, _ = env_of({"name": "c"}, services=SERVICES, enableServiceLinks=False)
    assert "MY_SVC_SERVICE_HOST" not in env and "KUBERNETES_SERVICE_PORT" in env


@pytest.mark.parametrize(("env", "message"), [
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}],
     'configmap "gone" not found'),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}}],
     'secret "gone" not found'),
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}],
     "couldn't find key k in ConfigMap shop/cfg"),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}],
     "couldn't find key k in Secret shop/creds"),
])
def test_missing_sources_refuse_with_upstreams_message(env: list[Any], message: str) -> None:
    with pytest.raises(EnvError) as caught:
        env_of({"name": "c", "env": env})
    assert str(caught.value) == message


def test_missing_env_from_and_unlisted_services_refuse() -> None:
    with pytest.raises(EnvError, match='^configmap "gone" not found$'):
        env_of({"name": "c", "envFrom": [{"configMapRef": {"name": "gone"}}]})
    container = {"name": "c"}
    with pytest.raises(EnvError, match="services have not yet been read at least once"):
        container_env(pod(container), container, EnvSources(OBJECTS.fetch, services=None))


def test_command_and_args_expand_against_the_final_environment() -> None:
    container = {"name": "c", "command": ["sh", "-c", "echo $(A) $$(A) $(NOPE)"],
                 "args": ["$(B)"]}
    assert command_and_args(container, [("A", "1"), ("B", "two")]) == (
        ["sh", "-c", "echo 1 $(A) $(NOPE)"], ["two"])
    config = container_config(pod(container), {**container, "env": [{"name": "A",
                                                                      "value": "z"}]},
                              attempt=0, image="i", mounts=[], memory_capacity=2**30,
                              envs=[("A", "1"), ("B", "two")])
    assert config["command"] == ["sh", "-c", "echo 1 $(A) $(NOPE)"]
    assert config["envs"] == [{"key": "A", "value": "1"}, {"key": "B", "value": "two"}]
