"""Security contexts into CRI, runAsNonRoot and sysctl admission, against upstream's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from nodelab.cri import api_pb2 as cri
from nodelab.kubelet.pods.cri_plan import container_config, sandbox_config
from nodelab.kubelet.pods.security.security_context import (
    DEFAULT_MASKED_PATHS,
    SecurityContextError,
    container_security,
    effective,
    namespace_options,
    sandbox_security,
    verify_run_as_non_root,
)
from nodelab.kubelet.pods.security.sysctls import forbidden, normalize

pytestmark = pytest.mark.unit
ROOT = Path("/var/lib/nodelab/seccomp")


def pod(container_sc: dict[str, Any] | None = None, pod_sc: dict[str, Any] | None = None,
        **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if container_sc is not None:
        container["securityContext"] = container_sc
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
            "spec": {"containers": [container], "securityContext": pod_sc or {}, **spec}}


def sc_of(p: dict[str, Any]) -> dict[str, Any]:
    return container_security(p, p["spec"]["containers"][0], ROOT)


def test_the_container_overrides_the_pod_field_by_field() -> None:
    p = pod({"runAsUser": 1, "readOnlyRootFilesystem": True},
            {"runAsUser": 2, "runAsGroup": 3, "runAsNonRoot": True, "fsGroup": 4})
    assert effective(p, p["spec"]["containers"][0]) == {
        "runAsUser": 1, "runAsGroup": 3, "runAsNonRoot": True, "readOnlyRootFilesystem": True}


def test_users_groups_and_policy_reach_cri() -> None:
    sc = sc_of(pod({}, {"runAsUser": 1234, "runAsGroup": 5678, "fsGroup": 2000,
                        "supplementalGroups": [3000, 3001],
                        "supplementalGroupsPolicy": "Strict"}))
    assert sc["runAsUser"] == {"value": 1234} and sc["runAsGroup"] == {"value": 5678}
    assert sc["supplementalGroups"] == [2000, 3000, 3001]  # fsGroup first, as upstream
    assert sc["supplementalGroupsPolicy"] == "Strict"
    message = json_format.ParseDict(sc, cri.LinuxContainerSecurityContext())
    assert message.supplemental_groups_policy == cri.Strict
    assert message.run_as_group.value == 5678


@pytest.mark.parametrize(("container_sc", "key", "expected"), [
    ({"allowPrivilegeEscalation": False}, "noNewPrivs", True),
    ({"allowPrivilegeEscalation": True}, "noNewPrivs", None),
    ({}, "noNewPrivs", None),
    ({"privileged": True}, "privileged", True),
    ({"readOnlyRootFilesystem": True}, "readonlyRootfs", True),
    ({"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}, "capabilities",
     {"addCapabilities": ["NET_ADMIN"], "dropCapabilities": ["ALL"]}),
    ({"procMount": "Default"}, "maskedPaths", list(DEFAULT_MASKED_PATHS)),
    ({"procMount": "Unmasked"}, "maskedPaths", None),
])
def test_container_fields(container_sc: dict[str, Any], key: str, expected: Any) -> None:
    assert sc_of(pod(container_sc)).get(key) == expected


@pytest.mark.parametrize(("container_sc", "pod_sc", "expected"), [
    (None, None, {"profileType": "Unconfined"}),
    (None, {"seccompProfile": {"type": "RuntimeDefault"}}, {"profileType": "RuntimeDefault"}),
    ({"seccompProfile": {"type": "Unconfined"}}, {"seccompProfile": {"type": "RuntimeDefault"}},
     {"profileType": "Unconfined"}),
    ({"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"}}, None,
     {"profileType": "Localhost", "localhostRef": str(ROOT / "profiles/audit.json")}),
])
def test_seccomp_profiles(container_sc: dict[str, Any] | None, pod_sc: dict[str, Any] | None,
                          expected: dict[str, str]) -> None:
    assert sc_of(pod(container_sc, pod_sc))["seccomp"] == expected


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}),
    ({"shareProcessNamespace": True}, {"network": "POD", "pid": "POD", "ipc": "POD"}),
    ({"hostNetwork": True, "hostPID": True, "hostIPC": True},
     {"network": "NODE", "pid": "NODE", "ipc": "NODE"}),
])
def test_namespaces(spec: dict[str, Any], expected: dict[str, str]) -> None:
    p = pod(**spec)
    assert namespace_options(p) == expected
    assert sc_of(p)["namespaceOptions"] == expected
    assert sandbox_security(p, ROOT)["namespaceOptions"] == expected


def test_a_host_network_sandbox_keeps_the_nodes_hostname() -> None:
    assert sandbox_config(pod(), 0, Path("/logs"))["hostname"] == "p"
    assert sandbox_config(pod(hostname="web"), 0, Path("/logs"))["hostname"] == "web"
    assert sandbox_config(pod(hostNetwork=True), 0, Path("/logs"))["hostname"] == ""


def test_the_sandbox_is_privileged_when_a_container_is() -> None:
    assert sandbox_security(pod({"privileged": True}), ROOT)["privileged"] is True
    assert "privileged" not in sandbox_security(pod({}), ROOT)


def test_configs_parse_as_cri_messages() -> None:
    p = pod({"capabilities": {"add": ["SYS_TIME"]}, "allowPrivilegeEscalation": False},
            {"runAsUser": 1000, "fsGroup": 2000, "sysctls": [
                {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}, hostIPC=True)
    container = json_format.ParseDict(container_config(
        p, p["spec"]["containers"][0], attempt=0, image="busybox", mounts=[],
        memory_capacity=2**30, seccomp_root=ROOT), cri.ContainerConfig())
    assert container.linux.security_context.no_new_privs
    assert container.linux.security_context.namespace_options.ipc == cri.NODE
    sandbox = json_format.ParseDict(sandbox_config(p, 0, Path("/logs"), seccomp_root=ROOT),
                                    cri.PodSandboxConfig())
    assert list(sandbox.linux.security_context.supplemental_groups) == [2000]
    assert sandbox.linux.sysctls["net.ipv4.tcp_syncookies"] == "1"


WHERE = '(pod: "p_ns(u1)", container: c)'


@pytest.mark.parametrize(("container_sc", "pod_sc", "image_uid", "image_user", "message"), [
    ({}, {"runAsNonRoot": True}, 0, "",
     f"container has runAsNonRoot and image will run as root {WHERE}"),
    ({}, {"runAsNonRoot": True}, None, "nobody",
     "container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user "
     f"is non-root {WHERE}"),
    ({"runAsUser": 0}, {"runAsNonRoot": True}, 1000, "",
     f"container's runAsUser breaks non-root policy {WHERE}"),
    ({"runAsUser": 1000}, {"runAsNonRoot": True}, 0, "", None),
    ({}, {"runAsNonRoot": True}, 1000, "", None),
    ({"runAsNonRoot": False}, {"runAsNonRoot": True}, 0, "", None),
    ({}, {}, 0, "", None),
])
def test_run_as_non_root(container_sc: dict[str, Any], pod_sc: dict[str, Any],
                         image_uid: int | None, image_user: str, message: str | None) -> None:
    p = pod(container_sc, pod_sc)
    if message is None:
        verify_run_as_non_root(p, p["spec"]["containers"][0], image_uid, image_user)
        return
    with pytest.raises(SecurityContextError) as caught:
        verify_run_as_non_root(p, p["spec"]["containers"][0], image_uid, image_user)
    assert str(caught.value) == message


@pytest.mark.parametrize(("sysctls", "spec", "allowed", "message"), [
    ([("kernel.shm_rmid_forced", "1"), ("net.ipv4.ip_local_port_range", "1024 65000")], {},
     (), None),
    ([("kernel.msgmax", "65536")], {}, (), 'forbidden sysctl: "kernel.msgmax" not allowlisted'),
    ([("kernel.msgmax", "65536")], {}, ("kernel.msg*",), None),
    ([("net/ipv4/tcp_syncookies", "1")], {}, (), None),
    ([("net.ipv4.tcp_syncookies", "1")], {"hostNetwork": True}, (),
     'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled'),
    ([("kernel.shm_rmid_forced", "1")], {"hostIPC": True}, (),
     'forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled'),
])
def test_sysctl_admission(sysctls: list[tuple[str, str]], spec: dict[str, Any],
                          allowed: tuple[str, ...], message: str | None) -> None:
    p = pod(None, {"sysctls": [{"name": n, "value": v} for n, v in sysctls]}, **spec)
    assert forbidden(p, allowed) == message


def test_sysctl_names_normalize_as_upstream() -> None:
    assert normalize("net/ipv4/conf/eno2.100/rp_filter") == "net.ipv4.conf.eno2/100.rp_filter"
    assert normalize("net.ipv4.conf.eno2/100.rp_filter") == "net.ipv4.conf.eno2/100.rp_filter"
    assert normalize("kernel.msgmax") == "kernel.msgmax"
