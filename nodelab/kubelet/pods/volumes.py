"""Pod volumes on the node: each volume becomes a directory, each volumeMount a CRI mount.

Volumes live under `<kubelet state>/pods/<uid>/volumes/<plugin>/<name>`, like upstream's
`/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>`:

- `emptyDir`: an empty directory (a tmpfs mount for `medium: Memory`);
- `hostPath`: the node path itself (`DirectoryOrCreate`/`FileOrCreate` create it);
- `configMap`, `secret`: one file per key (or per `items` entry) with `defaultMode`;
- `downwardAPI`: files from the pod's own fields (name, namespace, uid, labels, annotations);
- `projected`: all of those, plus `serviceAccountToken` (through the TokenRequest API).

With the pod's `fsGroup`, every volume but hostPath is handed to that group (`fs_group.py`).

Sources are fetched through the `Source` callbacks, and files are rewritten on every sync, so
updates to a ConfigMap or Secret reach running containers (as upstream's periodic resync).
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kubelet.pods.downward import field_value
from nodelab.kubelet.pods.fs_group import apply_ownership

Obj = Mapping[str, Any]
Fetch = Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name) -> object
TokenFetch = Callable[[Obj, Obj], str]  # (pod, serviceAccountToken source) -> token


class VolumeError(NodelabError):
    """A volume could not be set up (the kubelet reports it as an event and retries)."""


@dataclass
class VolumeSources:
    fetch: Fetch
    token: TokenFetch | None = None


def volume_root(state_dir: Path, pod: Obj) -> Path:
    return state_dir / "pods" / str(pod["metadata"]["uid"]) / "volumes"


def _write_files(directory: Path, files: dict[str, bytes], mode: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        target = directory / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            raise VolumeError(f"volume item path {relative!r} must be relative, without '..'")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.read_bytes() == content:
            continue
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(content)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    wanted = {directory / r for r in files}
    for existing in directory.rglob("*"):
        if existing.is_file() and existing not in wanted:
            existing.unlink()


def _key_files(data: Mapping[str, bytes], items: list[Obj] | None) -> dict[str, bytes]:
    if not items:
        return dict(data)
    return {item["path"]: data[item["key"]] for item in items if item.get("key") in data}


def _config_map_files(source: Obj, namespace: str, sources: VolumeSources) -> dict[str, bytes]:
    name = source.get("name", "")
    found = sources.fetch("configmaps", namespace, name)
    if found is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'configmap "{name}" not found')
    data = {k: v.encode() for k, v in (found.get("data") or {}).items()}
    data |= {k: base64.b64decode(v) for k, v in (found.get("binaryData") or {}).items()}
    return _key_files(data, source.get("items"))


def _secret_files(source: Obj, namespace: str, sources: VolumeSources,
                  name_key: str = "secretName") -> dict[str, bytes]:
    name = source.get(name_key) or source.get("name", "")
    found = sources.fetch("secrets", namespace, name)
    if found is None:
        if source.get("optional"):
            return {}
        raise VolumeError(f'secret "{name}" not found')
    data = {k: base64.b64decode(v) for k, v in (found.get("data") or {}).items()}
    data |= {k: v.encode() for k, v in (found.get("stringData") or {}).items()}
    return _key_files(data, source.get("items"))


def _downward_files(items: list[Obj], pod: Obj) -> dict[str, bytes]:
    files = {}
    for item in items:
        field_ref = item.get("fieldRef") or {}
        if field_ref:
            files[item["path"]] = field_value(pod, field_ref.get("fieldPath", "")).encode()
    return files


def _projected_files(source: Obj, pod: Obj, sources: VolumeSources) -> dict[str, bytes]:
    namespace = pod["metadata"]["namespace"]
    files: dict[str, bytes] = {}
    for projection in source.get("sources") or []:
        if "configMap" in projection:
            files |= _config_map_files(projection["configMap"], namespace, sources)
        elif "secret" in projection:
            files |= _secret_files(projection["secret"], namespace, sources, "name")
        elif "downwardAPI" in projection:
            files |= _downward_files(projection["downwardAPI"].get("items") or [], pod)
        elif "serviceAccountToken" in projection and sources.token is not None:
            token_source = projection["serviceAccountToken"]
            files[token_source.get("path", "token")] = sources.token(pod, token_source).encode()
    return files


def prepare_volumes(pod: Obj, state_dir: Path, sources: VolumeSources) -> dict[str, Path]:
    """Set up every volume of `pod`; returns volume name -> host path."""
    root = volume_root(state_dir, pod)
    namespace = pod["metadata"]["namespace"]
    paths: dict[str, Path] = {}
    security = (pod.get("spec") or {}).get("securityContext") or {}
    fs_group = security.get("fsGroup")
    change_policy = security.get("fsGroupChangePolicy") or "Always"
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume["name"]
        if "hostPath" in volume:
            host = volume["hostPath"]
            path = Path(host["path"])
            if host.get("type") == "DirectoryOrCreate":
                path.mkdir(parents=True, exist_ok=True)
            elif host.get("type") == "FileOrCreate" and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            paths[name] = path
            continue
        plugin = next((k for k in ("emptyDir", "configMap", "secret", "downwardAPI",
                                   "projected") if k in volume), None)
        if plugin is None:
            raise VolumeError(f'volume "{name}": this kubelet supports emptyDir, hostPath, '
                              "configMap, secret, downwardAPI and projected volumes")
        directory = root / plugin / name
        fresh = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        source = volume[plugin] or {}
        mode = int(source.get("defaultMode", 0o644))
        if plugin == "emptyDir":
            if fresh:
                os.chmod(directory, 0o777)  # as upstream: any user of the pod may write
            if source.get("medium") == "Memory" and not os.path.ismount(directory):
                subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(directory)], check=True,
                               capture_output=True)
        elif plugin == "configMap":
            _write_files(directory, _config_map_files(source, namespace, sources), mode)
        elif plugin == "secret":
            _write_files(directory, _secret_files(source, namespace, sources), mode)
        elif plugin == "downwardAPI":
            _write_files(directory, _downward_files(source.get("items") or [], pod), mode)
        else:
            _write_files(directory, _projected_files(source, pod, sources), mode)
        if fs_group is not None and (fresh or plugin != "emptyDir"):  # set up once, or rewritten
            apply_ownership(directory, int(fs_group), plugin != "emptyDir", change_policy)
        paths[name] = directory
    return paths


def container_mounts(container: Obj, volumes: Mapping[str, Path]) -> list[dict[str, Any]]:
    """The CRI mounts (JSON) for a container's volumeMounts."""
    mounts = []
    for mount in container.get("volumeMounts") or []:
        host = volumes.get(mount["name"])
        if host is None:
            raise VolumeError(f'volumeMount "{mount["name"]}" names no volume of the pod')
        if mount.get("subPath"):
            host = host / mount["subPath"]
            if not host.exists():
                host.mkdir(parents=True)
        mounts.append({"containerPath": mount["mountPath"], "hostPath": str(host),
                       "readonly": bool(mount.get("readOnly"))})
    return mounts


def teardown_volumes(pod_uid: str, state_dir: Path) -> None:
    """Unmount and remove a pod's volumes (after its containers are gone)."""
    root = state_dir / "pods" / pod_uid
    if not root.exists():
        return
    for path in sorted(root.rglob("*"), key=lambda p: -len(str(p))):
        if path.is_dir() and os.path.ismount(path):
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], capture_output=True)
