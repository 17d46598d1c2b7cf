"""The OCI spec plan: merge rules, user lookup, namespaces, resources, security defaults."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.runtime.capabilities import DEFAULT_CAPABILITIES, capabilities_from_mask
from nodelab.runtime.spec import (
    HostFacts,
    SandboxContext,
    SpecError,
    container_spec,
)

SANDBOX = SandboxContext(netns_path="/run/netns/nlt-x", ipc_path="/s/ipc", uts_path="/s/uts",
                         etc_files={"/etc/hosts": "/s/hosts"}, sysctls={"net.ipv4.ip_forward": "1"})
PASSWD = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"


def plan(config: cri.ContainerConfig, image: dict[str, object] | None = None,
         host: HostFacts | None = None) -> dict:  # type: ignore[type-arg]
    image = {"Cmd": ["sh"]} if image is None else image
    return container_spec(config, image, SANDBOX, "/r", "/nodelab/c",
                          host or HostFacts(passwd=PASSWD, group=GROUP))


def cfg(**kw: Any) -> cri.ContainerConfig:
    return cri.ContainerConfig(metadata=cri.ContainerMetadata(name="c"), **kw)


@pytest.mark.unit
@pytest.mark.parametrize(("command", "args", "expected"), [
    ([], [], ["/entry", "cmd"]),
    ([], ["a"], ["/entry", "a"]),
    (["/bin/x"], [], ["/bin/x"]),
    (["/bin/x"], ["y"], ["/bin/x", "y"]),
])
def test_args_merge_like_containerd(
    command: list[str], args: list[str], expected: list[str]
) -> None:
    spec = plan(cfg(command=command, args=args), {"Entrypoint": ["/entry"], "Cmd": ["cmd"]})
    assert spec["process"]["args"] == expected


@pytest.mark.unit
def test_no_command_anywhere_is_an_error() -> None:
    with pytest.raises(SpecError, match="no command"):
        plan(cfg(), {})


@pytest.mark.unit
def test_env_cri_overrides_image_and_workdir_falls_back() -> None:
    spec = plan(cfg(envs=[cri.KeyValue(key="A", value="2"), cri.KeyValue(key="B", value="3")]),
                {"Cmd": ["sh"], "Env": ["PATH=/bin", "A=1"], "WorkingDir": "/w"})
    assert spec["process"]["env"] == ["PATH=/bin", "A=2", "B=3"]
    assert spec["process"]["cwd"] == "/w"


@pytest.mark.unit
def test_hostname_env_comes_first_and_the_config_may_override_it() -> None:
    named = dataclasses.replace(SANDBOX, hostname="web-0")
    spec = container_spec(cfg(), {"Cmd": ["sh"], "Env": ["PATH=/bin"]}, named, "/r", "/c",
                          HostFacts())
    assert spec["process"]["env"] == ["HOSTNAME=web-0", "PATH=/bin"]
    spec = container_spec(cfg(envs=[cri.KeyValue(key="HOSTNAME", value="mine")]),
                          {"Cmd": ["sh"]}, named, "/r", "/c", HostFacts())
    assert "HOSTNAME=mine" in spec["process"]["env"]


@pytest.mark.unit
def test_image_user_name_resolves_through_passwd_and_groups() -> None:
    spec = plan(cfg(), {"Cmd": ["sh"], "User": "app"})
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]}


@pytest.mark.unit
def test_strict_supplemental_groups_leave_out_the_images_groups() -> None:
    sc = cri.LinuxContainerSecurityContext(supplemental_groups=[3000],
                                           supplemental_groups_policy=cri.Strict)
    spec = plan(cfg(linux=cri.LinuxContainerConfig(security_context=sc)),
                {"Cmd": ["sh"], "User": "app"})
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 3000]}


@pytest.mark.unit
def test_run_as_user_overrides_image_user() -> None:
    sc = cri.LinuxContainerSecurityContext(run_as_user=cri.Int64Value(value=1000),
                                           run_as_group=cri.Int64Value(value=7),
                                           supplemental_groups=[9])
    spec = plan(cfg(linux=cri.LinuxContainerConfig(security_context=sc)), {"Cmd": ["sh"],
                                                                            "User": "root"})
    assert spec["process"]["user"]["uid"] == 1000
    assert spec["process"]["user"]["gid"] == 7
    assert 9 in spec["process"]["user"]["additionalGids"]


@pytest.mark.unit
def test_unknown_user_is_an_error() -> None:
    with pytest.raises(SpecError, match="nobody2"):
        plan(cfg(), {"Cmd": ["sh"], "User": "nobody2"})


@pytest.mark.unit
def test_default_capabilities_and_masked_paths() -> None:
    spec = plan(cfg())
    assert spec["process"]["capabilities"]["bounding"] == list(DEFAULT_CAPABILITIES)
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    assert "/proc/sys" in spec["linux"]["readonlyPaths"]


@pytest.mark.unit
def test_capability_add_and_drop() -> None:
    sc = cri.LinuxContainerSecurityContext(capabilities=cri.Capability(
        add_capabilities=["NET_ADMIN"], drop_capabilities=["KILL"]))
    caps = plan(cfg(linux=cri.LinuxContainerConfig(security_context=sc)))["process"][
        "capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in caps and "CAP_KILL" not in caps


@pytest.mark.unit
def test_privileged_gets_every_capability_the_runtime_holds() -> None:
    held = capabilities_from_mask(0x1fffeffffff)  # this machine: no CAP_SYS_RESOURCE
    assert "CAP_SYS_RESOURCE" not in held and "CAP_SYS_ADMIN" in held
    privileged = cri.LinuxContainerSecurityContext(privileged=True)
    spec = plan(cfg(linux=cri.LinuxContainerConfig(security_context=privileged)),
                host=HostFacts(passwd=PASSWD, group=GROUP, bounding_capabilities=held))
    assert sorted(spec["process"]["capabilities"]["effective"]) == sorted(held)
    add_all = cri.LinuxContainerSecurityContext(capabilities=cri.Capability(
        add_capabilities=["ALL"]))
    spec = plan(cfg(linux=cri.LinuxContainerConfig(security_context=add_all)),
                host=HostFacts(passwd=PASSWD, group=GROUP, bounding_capabilities=held))
    assert "CAP_SYS_RESOURCE" not in spec["process"]["capabilities"]["bounding"]


@pytest.mark.unit
def test_namespaces_join_the_sandbox() -> None:
    ns = {n["type"]: n.get("path") for n in plan(cfg())["linux"]["namespaces"]}
    assert ns == {"mount": None, "network": "/run/netns/nlt-x", "ipc": "/s/ipc", "uts": "/s/uts",
                  "pid": None}


@pytest.mark.unit
def test_resources_and_clamped_oom_score_adj() -> None:
    res = cri.LinuxContainerResources(cpu_shares=512, cpu_quota=50000, cpu_period=100000,
                                      memory_limit_in_bytes=64 << 20, oom_score_adj=-997)
    spec = plan(cfg(linux=cri.LinuxContainerConfig(resources=res)),
                host=HostFacts(min_oom_score_adj=0, pids_limit=100))
    assert spec["linux"]["resources"]["cpu"] == {"shares": 512, "quota": 50000, "period": 100000}
    assert spec["linux"]["resources"]["memory"] == {"limit": 64 << 20}
    assert spec["linux"]["resources"]["pids"] == {"limit": 100}
    assert spec["process"]["oomScoreAdj"] == 0


@pytest.mark.unit
def test_mounts_readonly_propagation_and_etc_files() -> None:
    mounts = plan(cfg(mounts=[cri.Mount(container_path="/data", host_path="/h", readonly=True,
                                        propagation=cri.PROPAGATION_HOST_TO_CONTAINER)]))["mounts"]
    by_dest = {m["destination"]: m for m in mounts}
    assert by_dest["/data"]["options"] == ["rbind", "rslave", "ro"]
    assert by_dest["/etc/hosts"]["source"] == "/s/hosts"


@pytest.mark.unit
def test_readonly_rootfs_and_devices() -> None:
    sc = cri.LinuxContainerSecurityContext(readonly_rootfs=True)
    spec = container_spec(
        cfg(linux=cri.LinuxContainerConfig(security_context=sc),
            devices=[cri.Device(container_path="/dev/x", host_path="/dev/null", permissions="rw")]),
        {"Cmd": ["sh"]}, SANDBOX, "/r", "/c", HostFacts(devices={"/dev/null": ("c", 1, 3)}))
    assert spec["root"]["readonly"] is True
    assert spec["linux"]["devices"][0]["path"] == "/dev/x"
    etc = {m["destination"]: m["options"][-1] for m in spec["mounts"]
           if m["destination"].startswith("/etc/")}
    assert etc == {"/etc/hosts": "ro"}  # as the root filesystem (containerd's containerMounts)
    assert {m["destination"]: m["options"][-1] for m in plan(cfg())["mounts"]
            if m["destination"].startswith("/etc/")} == {"/etc/hosts": "rw"}
    assert spec["linux"]["resources"]["devices"][-1]["access"] == "rw"


def seccomp_cfg(kind: cri.SecurityProfile.ProfileType,
                **security: Any) -> cri.ContainerConfig:
    sc = cri.LinuxContainerSecurityContext(seccomp=cri.SecurityProfile(profile_type=kind),
                                           **security)
    return cfg(linux=cri.LinuxContainerConfig(security_context=sc))


@pytest.mark.unit
def test_seccomp_runtime_default_blocks_what_the_capabilities_do_not_allow() -> None:
    spec = plan(seccomp_cfg(cri.SecurityProfile.RuntimeDefault))
    blocked = spec["linux"]["seccomp"]["syscalls"][0]["names"]
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"
    assert {"mount", "reboot", "init_module", "keyctl", "bpf"} <= set(blocked)
    admin = plan(seccomp_cfg(cri.SecurityProfile.RuntimeDefault, capabilities=cri.Capability(
        add_capabilities=["SYS_ADMIN"])))
    assert "mount" not in admin["linux"]["seccomp"]["syscalls"][0]["names"]


@pytest.mark.unit
def test_seccomp_unconfined_unset_and_privileged_have_no_filter() -> None:
    assert "seccomp" not in plan(seccomp_cfg(cri.SecurityProfile.Unconfined))["linux"]
    assert "seccomp" not in plan(cfg())["linux"]
    assert "seccomp" not in plan(seccomp_cfg(cri.SecurityProfile.RuntimeDefault,
                                             privileged=True))["linux"]


@pytest.mark.unit
@pytest.mark.parametrize(("shm_path", "expected"), [
    (None, {"type": "tmpfs", "source": "shm"}),  # a sandbox without one: its own tmpfs
    ("/s/shm", {"type": "bind", "source": "/s/shm"}),  # the pod's, shared by its containers
    ("/dev/shm", {"type": "bind", "source": "/dev/shm"}),  # hostIPC: the node's
])
def test_dev_shm_is_the_pods(shm_path: str | None, expected: dict[str, str]) -> None:
    sandbox = dataclasses.replace(SANDBOX, shm_path=shm_path)
    mounts = container_spec(cfg(), {"Cmd": ["sh"]}, sandbox, "/r", "/c", HostFacts())["mounts"]
    shm = [m for m in mounts if m["destination"] == "/dev/shm"]
    assert len(shm) == 1 and {k: shm[0][k] for k in expected} == expected
