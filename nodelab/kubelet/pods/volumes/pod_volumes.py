"""Pod volumes on the node: each volume becomes a directory, each volumeMount a CRI mount.

Volumes live under `<kubelet state>/pods/<uid>/volumes/<plugin>/<name>`, like upstream's
`/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>`:

- `emptyDir`: an empty directory (a tmpfs mount for `medium: Memory`, sized by `empty_dir.py`);
- `hostPath`: the node path itself, after upstream's `type` check (`host_path.py`);
- `persistentVolumeClaim`: the node path of the PersistentVolume bound to the claim
  (`claims.py`: its hostPath, type-checked, or its local path);
- `configMap`, `secret`: one file per key (or per `items` entry) with `defaultMode`;
- `downwardAPI`: files from the pod's own fields (name, namespace, uid, labels, annotations)
  and its containers' resources (`resourceFieldRef`, with the node's allocatable for unset
  limits, as the environment's);
- `projected`: all of those, plus `serviceAccountToken` (through the TokenRequest API).

With the pod's `fsGroup`, every volume but hostPath is handed to that group (`fs_group.py`).

Sources are fetched through the `Source` callbacks, and files are rewritten on every sync, so
updates to a ConfigMap or Secret reach running containers (as upstream's periodic resync).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.host.beneath import PathEscape
from nodelab.kube.objects import ObjectView
from nodelab.kubelet.eviction.local_storage import measured_volumes
from nodelab.kubelet.pods.downward import (
    DownwardError,
    container_named,
    field_value,
    resource_value,
)
from nodelab.kubelet.pods.volumes.atomic_writer import FileProjection, PayloadError, write_volume
from nodelab.kubelet.pods.volumes.claims import ClaimError, ClaimMountError, set_up_claim
from nodelab.kubelet.pods.volumes.empty_dir import disk_usage, tmpfs_size
from nodelab.kubelet.pods.volumes.fs_group import apply_ownership
from nodelab.kubelet.pods.volumes.host_path import HostPathError, set_up_host_path
from nodelab.kubelet.pods.volumes.subpath import bind_subpath

Fetch = Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name) -> object
TokenFetch = Callable[[ObjectView, ObjectView], str]  # (pod, serviceAccountToken source) -> token


class VolumeError(NodelabError):
    """A volume could not be set up (the kubelet reports it as an event and retries)."""


def set_up_failed(name: str, exc: BaseException) -> str:
    """Upstream's FailedMount text: `MountVolume.SetUp failed for volume "v" : <why>`."""
    return f'MountVolume.SetUp failed for volume "{name}" : {exc}'


class PodVolumes(dict[str, Path]):
    """Volume name -> host path, plus which are read-only and where subPaths are pinned."""

    def __init__(self, subpath_root: Path) -> None:
        super().__init__()
        self.subpath_root = subpath_root
        self.read_only: set[str] = set()


@dataclass
class VolumeSources:
    fetch: Fetch
    token: TokenFetch | None = None
    allocatable: Mapping[str, int] = field(default_factory=dict)  # for resourceFieldRef items


def volume_root(state_dir: Path, pod: ObjectView) -> Path:
    return state_dir / "pods" / str(pod["metadata"]["uid"]) / "volumes"


def local_volume_usage(state_dir: Path, pod: ObjectView) -> dict[str, int]:
    """Bytes used by each volume of the pod that local storage eviction needs
    (`measured_volumes`: the eviction loop's measure, upstream's volume stats)."""
    root = volume_root(state_dir, pod)
    return {name: disk_usage(root / plugin / name)
            for name, plugin in measured_volumes(pod).items()}


def _key_files(data: Mapping[str, bytes], items: list[ObjectView] | None,
               mode: int, gid: int | None) -> dict[str, FileProjection]:
    if not items:
        return {key: FileProjection(value, _mode(mode, gid), gid) for key, value in data.items()}
    return {item["path"]: FileProjection(data[item["key"]], _mode(item.get("mode", mode), gid),
                                         gid)
            for item in items if item.get("key") in data}


def _mode(mode: Any, gid: int | None) -> int:
    """A file's mode: items[].mode or defaultMode; with fsGroup, group-readable (upstream)."""
    value = int(mode) & 0o777
    return value | 0o440 if gid is not None else value


def _config_map_files(source: ObjectView, namespace: str, sources: VolumeSources, mode: int,
                      gid: int | None) -> dict[str, FileProjection]:
    name = source.get("name", "")
    found = sources.fetch("configmaps", namespace, name)
    if found is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'configmap "{name}" not found')
    data = {k: v.encode() for k, v in (found.get("data") or {}).items()}
    data |= {k: base64.b64decode(v) for k, v in (found.get("binaryData") or {}).items()}
    return _key_files(data, source.get("items"), mode, gid)


def _secret_files(source: ObjectView, namespace: str, sources: VolumeSources, mode: int,
                  gid: int | None, name_key: str = "secretName") -> dict[str, FileProjection]:
    name = source.get(name_key) or source.get("name", "")
    found = sources.fetch("secrets", namespace, name)
    if found is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'secret "{name}" not found')
    data = {k: base64.b64decode(v) for k, v in (found.get("data") or {}).items()}
    data |= {k: v.encode() for k, v in (found.get("stringData") or {}).items()}
    return _key_files(data, source.get("items"), mode, gid)


def _downward_files(items: list[ObjectView], pod: ObjectView, mode: int, gid: int | None,
                    allocatable: Mapping[str, int]) -> dict[str, FileProjection]:
    """One file per item: a `fieldRef` of the pod, or a `resourceFieldRef` of one of its
    containers (`containerName` is required in volumes; upstream's validation says so)."""
    files = {}
    for item in items:
        field_ref = item.get("fieldRef") or {}
        resource_ref = item.get("resourceFieldRef") or {}
        if field_ref:
            value = field_value(pod, field_ref.get("fieldPath", ""))
        elif resource_ref:
            try:
                container = container_named(pod, resource_ref.get("containerName", ""))
                value = resource_value(pod, container, resource_ref.get("resource", ""),
                                       resource_ref.get("divisor"), allocatable)
            except DownwardError as exc:
                raise VolumeError(f'downwardAPI item "{item.get("path")}": {exc}') from exc
        else:
            raise VolumeError(f'downwardAPI item "{item.get("path")}" has neither fieldRef '
                              "nor resourceFieldRef")
        files[item["path"]] = FileProjection(value.encode(), _mode(item.get("mode", mode), gid),
                                             gid)
    return files


def _projected_files(source: ObjectView, pod: ObjectView, sources: VolumeSources, mode: int,
                     gid: int | None) -> dict[str, FileProjection]:
    namespace = pod["metadata"]["namespace"]
    files: dict[str, FileProjection] = {}
    for projection in source.get("sources") or []:
        if "configMap" in projection:
            files |= _config_map_files(projection["configMap"], namespace, sources, mode, gid)
        elif "secret" in projection:
            files |= _secret_files(projection["secret"], namespace, sources, mode, gid, "name")
        elif "downwardAPI" in projection:
            files |= _downward_files(projection["downwardAPI"].get("items") or [], pod, mode,
                                     gid, sources.allocatable)
        elif "serviceAccountToken" in projection and sources.token is not None:
            token_source = projection["serviceAccountToken"]
            files[token_source.get("path", "token")] = FileProjection(
                sources.token(pod, token_source).encode(), _mode(mode, gid), gid)
    return files


def prepare_volumes(pod: ObjectView, state_dir: Path, sources: VolumeSources,
                    memory_ceiling: int = 0) -> PodVolumes:
    """Set up every volume of `pod`; returns volume name -> host path (and what mounts need).
    `memory_ceiling`: the most memory the pod may use (sizes `medium: Memory` emptyDirs)."""
    root = volume_root(state_dir, pod)
    namespace = pod["metadata"]["namespace"]
    security = (pod.get("spec") or {}).get("securityContext") or {}
    fs_group = security.get("fsGroup")
    change_policy = security.get("fsGroupChangePolicy") or "Always"
    gid = int(fs_group) if fs_group is not None else None
    paths = PodVolumes(subpath_root=root.parent / "volume-subpaths")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume["name"]
        if "hostPath" in volume:
            try:
                paths[name] = set_up_host_path(volume["hostPath"] or {})
            except HostPathError as exc:
                raise VolumeError(set_up_failed(name, exc)) from exc
            continue
        if "persistentVolumeClaim" in volume:
            paths[name] = _claimed(name, volume["persistentVolumeClaim"] or {}, namespace,
                                   sources, paths)
            continue
        plugin = next((k for k in ("emptyDir", "configMap", "secret", "downwardAPI",
                                   "projected") if k in volume), None)
        if plugin is None:
            raise VolumeError(f'volume "{name}": this kubelet supports emptyDir, hostPath, '
                              "configMap, secret, downwardAPI, projected and "
                              "persistentVolumeClaim volumes")
        directory = root / plugin / name
        fresh = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        source = volume[plugin] or {}
        mode = int(source.get("defaultMode", 0o644))
        if plugin == "emptyDir":
            if fresh:
                os.chmod(directory, 0o777)  # as upstream: any user of the pod may write
            if source.get("medium") == "Memory" and not os.path.ismount(directory):
                size = tmpfs_size(source, memory_ceiling)
                subprocess.run(["mount", "-t", "tmpfs", *(["-o", f"size={size}"] * bool(size)),
                                "tmpfs", str(directory)], check=True, capture_output=True)
        else:
            paths.read_only.add(name)
            try:
                if plugin == "configMap":
                    payload = _config_map_files(source, namespace, sources, mode, gid)
                elif plugin == "secret":
                    payload = _secret_files(source, namespace, sources, mode, gid)
                elif plugin == "downwardAPI":
                    payload = _downward_files(source.get("items") or [], pod, mode, gid,
                                              sources.allocatable)
                else:
                    payload = _projected_files(source, pod, sources, mode, gid)
                write_volume(directory, payload)
            except (VolumeError, PayloadError, PathEscape) as exc:
                raise VolumeError(set_up_failed(name, exc)) from exc
        if fs_group is not None and (fresh or plugin != "emptyDir"):  # set up once, or rewritten
            apply_ownership(directory, int(fs_group), plugin != "emptyDir", change_policy)
        paths[name] = directory
    return paths


def _claimed(name: str, source: ObjectView, namespace: str, sources: VolumeSources,
             paths: PodVolumes) -> Path:
    """A persistentVolumeClaim volume: its bound volume's node path (read-only for every mount
    with the source's `readOnly`); upstream's texts for a claim not ready or a failed set-up."""
    try:
        claimed = set_up_claim(source, namespace, sources.fetch)
    except ClaimError as exc:
        raise VolumeError(f"Unable to attach or mount volumes: unmounted volumes=[{name}], "
                          f"unattached volumes=[], failed to process volumes=[{name}]: "
                          f"{exc}") from exc
    except ClaimMountError as exc:
        raise VolumeError(str(exc)) from exc
    if claimed.read_only:
        paths.read_only.add(name)
    return claimed.path


def container_mounts(container: ObjectView, volumes: PodVolumes) -> list[dict[str, Any]]:
    """The CRI mounts (JSON) for a container's volumeMounts.

    configMap/secret/downwardAPI/projected volumes are always read-only, as upstream; a subPath
    is resolved beneath its volume and pinned by a bind mount (`subpath`), or refused with
    SubPathError when it would leave the volume.
    """
    mounts = []
    for index, mount in enumerate(container.get("volumeMounts") or []):
        name = mount["name"]
        host = volumes.get(name)
        if host is None:
            raise VolumeError(f'volumeMount "{name}" names no volume of the pod')
        sub_path = mount.get("subPath") or ""
        if sub_path:
            target = volumes.subpath_root / name / container["name"] / str(index)
            host = bind_subpath(host, sub_path, name, target)
        mounts.append({"containerPath": mount["mountPath"], "hostPath": str(host),
                       "readonly": bool(mount.get("readOnly")) or name in volumes.read_only})
    return mounts


def mounts_under(root: Path) -> list[str]:
    """Mount points below `root` (from /proc/self/mounts, octal escapes decoded), deepest first.

    Read from the kernel, not by walking the tree: a pod's emptyDir holds whatever its containers
    made (links anywhere, trees of any depth).
    """
    prefix = str(root).rstrip("/") + "/"
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split(" ")
        if len(fields) > 1:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def teardown_volumes(pod_uid: str, state_dir: Path) -> None:
    """Unmount and remove a pod's volumes (after its containers are gone)."""
    root = state_dir / "pods" / pod_uid
    if not root.exists():
        return
    for mount_point in mounts_under(root):  # volumes and pinned subPaths, deepest first
        subprocess.run(["umount", "-l", mount_point], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], capture_output=True)
