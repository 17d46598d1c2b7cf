"""Container and pod `ephemeral-storage` limits: the local storage eviction decision
(eviction/local_storage.py, upstream's podEphemeralStorageLimitEviction and
containerEphemeralStorageLimitEviction, after emptyDirLimitEviction)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.eviction.local_storage import (
    CONTAINER_SIGNAL,
    POD_SIGNAL,
    SIGNAL,
    Exceeded,
    PodStorage,
    container_limits,
    local_storage_eviction,
    measured_volumes,
    pod_limit,
    watched,
)

pytestmark = pytest.mark.unit
MI = 1 << 20


def container(name: str, limit: str | None = None, **extra: Any) -> dict[str, Any]:
    resources = {"limits": {"ephemeral-storage": limit}} if limit is not None else {}
    return {"name": name, "resources": resources, **extra}


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (),
        volumes: tuple[dict[str, Any], ...] = (), overhead: str | None = None
        ) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers), "initContainers": list(init),
                            "volumes": list(volumes)}
    if overhead is not None:
        spec["overhead"] = {"ephemeral-storage": overhead}
    return {"metadata": {"name": "p", "uid": "u1"}, "spec": spec}


SIDECAR = {"restartPolicy": "Always"}


@pytest.mark.parametrize(("spec", "expected"), [
    (pod(container("a")), None),  # no container sets one: no pod limit
    (pod(container("a", "2Mi")), 2 * MI),
    (pod(container("a", "2Mi"), container("b", "3Mi")), 5 * MI),
    (pod(container("a", "2Mi"), container("b")), 2 * MI),  # upstream PodLimits: the ones set
    (pod(container("a", "1Mi"), init=(container("i", "4Mi"),)), 4 * MI),  # init: a floor
    (pod(container("a", "1Mi"), init=(container("s", "1Mi", **SIDECAR),)), 2 * MI),
    (pod(container("a", "1Mi"), overhead="1Mi"), 2 * MI),
    (pod(container("a"), overhead="1Mi"), None),  # overhead only adds to a limit
])
def test_pod_limit(spec: dict[str, Any], expected: int | None) -> None:
    assert pod_limit(spec) == expected


def test_container_limits_are_the_regular_containers_non_zero_ones() -> None:
    spec = pod(container("a", "2Mi"), container("b"), container("z", "0"),
               init=(container("i", "1Mi"),))
    assert container_limits(spec) == {"a": "2Mi"}


DISK = {"name": "scratch", "emptyDir": {}}
LIMITED = {"name": "limited", "emptyDir": {"sizeLimit": "1Mi"}}
MEMORY = {"name": "mem", "emptyDir": {"medium": "Memory"}}
CONFIG = {"name": "settings", "configMap": {"name": "app"}}
SECRET = {"name": "token", "secret": {"secretName": "app"}}
POD_2MI = 'Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. '


def test_what_is_watched_and_measured() -> None:
    assert not watched(pod(container("a"), volumes=(DISK, MEMORY)))
    assert watched(pod(container("a", "1Mi")))
    assert measured_volumes(pod(container("a"), volumes=(DISK, LIMITED, MEMORY, CONFIG))) \
        == {"limited": "emptyDir"}
    # with a pod limit every local ephemeral volume counts in its usage (upstream's
    # IsLocalEphemeralVolume: disk-backed emptyDirs and configMaps)
    assert measured_volumes(pod(container("a", "1Mi"),
                                volumes=(DISK, LIMITED, MEMORY, CONFIG, SECRET))) \
        == {"scratch": "emptyDir", "limited": "emptyDir", "settings": "configMap"}


@pytest.mark.parametrize(("spec", "usage", "expected"), [
    (pod(container("a", "2Mi")), PodStorage(containers={"a": 2 * MI}), None),  # at: not above
    (pod(container("a", "2Mi")), PodStorage(containers={"a": 4 * MI}),
     Exceeded(POD_SIGNAL, POD_2MI)),  # one container: the pod check comes first (upstream)
    (pod(container("a", "2Mi"), volumes=(DISK, MEMORY)),
     PodStorage({"scratch": MI + 1, "mem": 8 * MI}, {"a": MI}),
     Exceeded(POD_SIGNAL, POD_2MI)),  # disk-backed emptyDirs count, memory ones do not
    (pod(container("a", "2Mi"), volumes=(MEMORY,)), PodStorage({"mem": 8 * MI}, {"a": MI}),
     None),
    (pod(container("a", "2Mi"), volumes=(CONFIG, SECRET)),
     PodStorage({"settings": MI + 1, "token": 8 * MI}, {"a": MI}),
     Exceeded(POD_SIGNAL, POD_2MI)),  # a configMap counts, a secret (tmpfs upstream) not
    (pod(container("a", "2Mi"), container("b", "8Mi")),
     PodStorage(containers={"a": 4 * MI, "b": 0}),
     Exceeded(CONTAINER_SIGNAL,
              'Container a exceeded its local ephemeral storage limit "2Mi". ')),
    (pod(container("a", "1Mi"), container("b")), PodStorage(containers={"a": 0, "b": 2 * MI}),
     Exceeded(POD_SIGNAL, 'Pod ephemeral local storage usage exceeds the total limit of '
              'containers 1Mi. ')),  # upstream sums the set limits, and all the usage
    (pod(container("a")), PodStorage(containers={"a": 100 * MI}), None),  # no limit at all
    (pod(container("a", "2048Ki"), container("b", "1Mi")), PodStorage(containers={"a": 4 * MI}),
     Exceeded(POD_SIGNAL, 'Pod ephemeral local storage usage exceeds the total limit of '
              'containers 3Mi. ')),  # upstream's canonical String() of the sum
    (pod(container("a", "2000k"), container("b", "4M")), PodStorage(containers={"a": 3 * MI}),
     Exceeded(CONTAINER_SIGNAL,
              'Container a exceeded its local ephemeral storage limit "2M". ')),
    (pod(container("a", "2Mi"), volumes=(LIMITED,)),
     PodStorage({"limited": 2 * MI}, {"a": 4 * MI}),
     Exceeded(SIGNAL, 'Usage of EmptyDir volume "limited" exceeds the limit "1Mi". ')),
    (pod(container("a", "2Mi")), PodStorage(), None),  # no stats yet: skipped
])
def test_local_storage_eviction(spec: dict[str, Any], usage: PodStorage,
                                expected: Exceeded | None) -> None:
    assert local_storage_eviction(spec, usage) == expected
