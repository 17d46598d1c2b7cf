"""Making sure a container's image is there before it starts: upstream's image manager
(pkg/kubelet/images, EnsureImageExists). The pull policy decides (`pull_policy.decide_pull`,
pure); this carries the decision out: use the present image, wait in back-off, or pull with the
pod's pull secrets (`keyring.pod_pull_credentials`), with upstream's events and back-off."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.objects import Object
from nodelab.kubelet.pods.backoff import BackoffSettings, ContainerMemory, next_backoff
from nodelab.kubelet.pods.images.keyring import pod_pull_credentials
from nodelab.kubelet.pods.images.pull_policy import decide_pull
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.volumes.pod_volumes import Fetch

PodEvent = Callable[[Mapping[str, Any], str, str, str], None]  # pod, reason, message, type


class ImageManager:
    def __init__(self, runtime: PodRuntime, event: PodEvent, fetch: Fetch,
                 backoff: BackoffSettings) -> None:
        self.runtime = runtime
        self.event = event
        self.fetch = fetch
        self.backoff = backoff

    def ensure_image(self, pod: Object, container: Object, sandbox_conf: Object,
                     memory: ContainerMemory) -> str | None:
        """The image reference to start `container` from; None while it waits (back-off, a
        failed pull: `memory.waiting` says why)."""
        image = container.get("image", "")
        present = self.runtime.image_ref(image)
        decision = decide_pull(container, present is not None, memory, time.time())
        for reason, message, kind in decision.events:
            self.event(pod, reason, message, kind)
        if decision.step == "use":
            return present
        if decision.step != "pull":
            memory.waiting = decision.waiting
            return None
        started = time.monotonic()
        try:
            ref = self.runtime.pull(image, sandbox_conf, self.pull_auths(pod, image))
        except NodelabError as exc:
            memory.backoff = next_backoff(memory.backoff, time.time(), self.backoff)
            memory.waiting = ("ErrImagePull", str(exc))
            self.event(pod, "Failed", f'Failed to pull image "{image}": {exc}', "Warning")
            self.event(pod, "Failed", "Error: ErrImagePull", "Warning")
            return None
        self.event(pod, "Pulled", f'Successfully pulled image "{image}" in '
                   f"{time.monotonic() - started:.3f}s", "Normal")
        return ref

    def pull_auths(self, pod: Object, image: str) -> list[dict[str, str]]:
        """The CRI AuthConfigs to try for `image` (a pull secret that cannot be read is
        skipped with upstream's event)."""
        auths, missing = pod_pull_credentials(pod, image, self.fetch)
        if missing:
            self.event(pod, "FailedToRetrieveImagePullSecret", "Unable to retrieve some image "
                       f"pull secrets ({', '.join(missing)}); attempting to pull the image may "
                       "not succeed.", "Warning")
        return [auth.cri() for auth in auths]
