"""Unit tests of the kubelet's pure plans: quantities, config, machine parsers, Node object."""

from __future__ import annotations

import pytest

from nodelab.errors import NodelabError
from nodelab.kube.quantities import format_bytes, format_cpu, parse_quantity
from nodelab.kubelet.config import KubeletConfig, Taint, parse_duration
from nodelab.kubelet.machine import (
    MachineFacts,
    count_nvidia_devices,
    go_arch,
    hugepage_name,
    parse_meminfo,
    parse_os_release,
)
from nodelab.kubelet.node.node_object import (
    allocatable_values,
    capacity_values,
    extended_allocatable,
    node_features,
    node_object,
)

pytestmark = pytest.mark.unit

GI = 2**30
FACTS = MachineFacts(
    hostname="node1", cpu_millicores=2000, memory_bytes=8 * GI,
    ephemeral_storage_bytes=100 * GI, hugepages_bytes={"2Mi": 0}, gpus=1,
    machine_id="m", system_uuid="u", boot_id="b", kernel_version="6.1.0",
    os_image="Debian GNU/Linux 12 (bookworm)", operating_system="linux", architecture="amd64",
)


def test_quantities() -> None:
    assert parse_quantity("100Mi") == 100 * 2**20
    assert parse_quantity("1G") == 10**9
    assert parse_quantity("500m", milli=True) == 500
    assert parse_quantity("1.5", milli=True) == 1500
    assert parse_quantity("2") == 2
    assert parse_quantity("1e3") == 1000
    assert parse_quantity("0.5") == 1  # rounded up, as upstream
    with pytest.raises(NodelabError):
        parse_quantity("ten")
    assert format_bytes(8026548 * 1024) == "8026548Ki"
    assert format_bytes(100 * 2**20) == "100Mi"
    assert format_bytes(1000) == "1000"
    assert format_cpu(2000) == "2"
    assert format_cpu(1500) == "1500m"


def test_durations_and_taints() -> None:
    assert parse_duration("10s") == 10
    assert parse_duration("5m") == 300
    assert parse_duration("1h30m") == 5400
    assert parse_duration("500ms") == 0.5
    assert parse_duration(3) == 3
    with pytest.raises(NodelabError):
        parse_duration("10 parsecs")
    assert Taint.parse("a=b:NoSchedule") == Taint("a", "b", "NoSchedule")
    assert Taint.parse("gpu:NoExecute") == Taint("gpu", "", "NoExecute")
    with pytest.raises(NodelabError):
        Taint.parse("a=b:Sometimes")


def test_config_defaults_are_upstream() -> None:
    config = KubeletConfig()
    assert config.node_status_update_frequency == 10
    assert config.node_status_report_frequency == 300
    assert config.node_lease_duration_seconds == 40
    assert config.lease_renew_interval == 10
    assert config.max_pods == 110
    assert config.port == 10250
    assert config.eviction_hard == {
        "memory.available": "100Mi", "nodefs.available": "10%",
        "imagefs.available": "15%", "nodefs.inodesFree": "5%",
    }
    assert config.eviction_pressure_transition_period == 300


def test_config_from_document() -> None:
    config = KubeletConfig.from_document({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "nodeStatusUpdateFrequency": "1s", "nodeLeaseDurationSeconds": 8,
        "evictionHard": {"memory.available": "1Gi"}, "maxPods": 20,
        "kubeReserved": {"cpu": "100m", "memory": "256Mi"},
        "registerWithTaints": [{"key": "lab", "value": "x", "effect": "NoSchedule"}],
        "nodeLabels": {"lab": "yes"},
        "authentication": {"x509": {"clientCAFile": "/ca.crt"}},
        "tlsCertFile": "/c.crt", "cgroupRoot": "/nodelab/a",
    })
    assert config.node_status_update_frequency == 1
    assert config.lease_renew_interval == 2
    assert config.eviction_hard == {"memory.available": "1Gi"}
    assert config.register_with_taints == (Taint("lab", "x", "NoSchedule"),)
    assert config.client_ca_file == "/ca.crt"
    assert config.tls_cert_file == "/c.crt"
    assert config.cgroup_root == "/nodelab/a"
    assert KubeletConfig().cgroup_root == "/"
    with pytest.raises(NodelabError, match="unknown kubelet config field"):
        KubeletConfig.from_document({"noSuchField": 1})


def test_machine_parsers() -> None:
    mem = parse_meminfo("MemTotal:       16384 kB\nMemAvailable:    8192 kB\nHugePages_Total: 0\n")
    assert mem["MemTotal"] == 16384 * 1024
    assert mem["MemAvailable"] == 8192 * 1024
    assert mem["HugePages_Total"] == 0
    osr = parse_os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    assert osr["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert hugepage_name(2048) == "2Mi"
    assert hugepage_name(1048576) == "1Gi"
    assert go_arch("x86_64") == "amd64"
    assert go_arch("aarch64") == "arm64"
    assert count_nvidia_devices(["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null"]) == 2


def test_capacity_and_allocatable() -> None:
    config = KubeletConfig(kube_reserved={"cpu": "100m", "memory": "256Mi"},
                           system_reserved={"memory": "256Mi"})
    capacity = capacity_values(FACTS, config)
    assert capacity == {
        "cpu": 2000, "memory": 8 * GI, "ephemeral-storage": 100 * GI, "pods": 110,
        "hugepages-2Mi": 0, "nvidia.com/gpu": 1,
    }
    alloc = allocatable_values(capacity, config)
    assert alloc["cpu"] == 1900
    assert alloc["memory"] == 8 * GI - 512 * 2**20 - 100 * 2**20
    assert alloc["ephemeral-storage"] == 90 * GI
    assert alloc["pods"] == 110
    huge = capacity | {"hugepages-2Mi": 1 * GI}
    assert allocatable_values(huge, KubeletConfig())["memory"] == 7 * GI - 100 * 2**20


OWN = {"cpu": "2", "memory": "4Gi", "pods": "110", "nvidia.com/gpu": "1"}


@pytest.mark.parametrize(("on_node", "expected"), [
    ({}, {}),
    # a cluster PATCHed an extended resource into capacity: allocatable gets it as it is
    ({"capacity": {**OWN, "example.com/dongle": "4"}}, {"example.com/dongle": "4"}),
    ({"capacity": {**OWN, "example.com/dongle": "4"}, "allocatable": {"example.com/dongle": "4"}},
     {"example.com/dongle": "4"}),
    # it left capacity: a null removes it from allocatable
    ({"capacity": OWN, "allocatable": {"example.com/dongle": "4", "cpu": "2"}},
     {"example.com/dongle": None}),
    # the kubelet's own resources, native names and kubernetes.io names are not extended
    ({"capacity": {**OWN, "nvidia.com/gpu": "3", "hugepages-2Mi": "0",
                   "kubernetes.io/something": "1", "requests.example.com/x": "1"}}, {}),
])
def test_extended_resources_in_capacity_become_allocatable(
        on_node: dict[str, dict[str, str]], expected: dict[str, str | None]) -> None:
    assert extended_allocatable(on_node, OWN) == expected


@pytest.mark.parametrize(("runtime_says", "features"), [
    (True, {"features": {"supplementalGroupsPolicy": True}}),  # nodelab's runtime
    (False, {"features": {"supplementalGroupsPolicy": False}}),  # containerd before 2.0
    (None, {}),  # the runtime did not answer: upstream's setter leaves the field alone
])
def test_node_features_follow_the_runtime(runtime_says: bool | None,
                                          features: dict[str, object]) -> None:
    assert node_features(runtime_says) == features


def test_node_object() -> None:
    config = KubeletConfig(node_labels={"lab": "a"}, register_schedulable=False,
                           register_with_taints=(Taint("x", "", "NoExecute"),))
    node = node_object("node1", "172.29.0.11", FACTS, config, "nodelab://0.1.0")
    meta, spec, status = node["metadata"], node["spec"], node["status"]
    assert meta["labels"] == {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "node1",
        "kubernetes.io/os": "linux", "lab": "a",
    }
    assert spec["taints"] == [
        {"key": "x", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
    ]
    assert spec["unschedulable"] is True
    assert status["capacity"]["cpu"] == "2"
    assert status["capacity"]["memory"] == "8Gi"
    assert status["capacity"]["nvidia.com/gpu"] == "1"
    assert status["allocatable"]["memory"] == format_bytes(8 * GI - 100 * 2**20)
    assert status["addresses"] == [
        {"type": "InternalIP", "address": "172.29.0.11"},
        {"type": "Hostname", "address": "node1"},
    ]
    assert status["nodeInfo"]["containerRuntimeVersion"] == "nodelab://0.1.0"
    assert status["nodeInfo"]["bootID"] == "b"
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}


def test_serving_certificate_request() -> None:
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from nodelab.kubelet.server.serving_cert import csr_object

    csr = csr_object("node1", "172.29.0.11", ec.generate_private_key(ec.SECP256R1()))
    assert csr["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
    assert csr["spec"]["usages"] == ["digital signature", "server auth"]
    request = x509.load_pem_x509_csr(base64.b64decode(csr["spec"]["request"]))
    assert request.subject.rfc4514_string() == "CN=system:node:node1,O=system:nodes"
    sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["172.29.0.11"]
