"""Whether to pull a container's image before starting it (upstream's EnsureImageExists).

`imagePullPolicy` defaults as the API server does: `Always` for an image tagged `:latest`
or without a tag, `IfNotPresent` otherwise. Then:
- `Always`: pulled before each start (a restart too: the registry resolves the tag again;
  layers already present are not fetched again);
- `IfNotPresent`, `Never`: an image present on the node is used (`Pulled`, "already present
  on machine", at each start);
- `Never` and absent: the container waits with `ErrImageNeverPull`;
- a pull that failed backs off (the container's backoff): `ErrImagePull` first, then
  `ImagePullBackOff` until the delay is over, then the next pull.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nodelab.kubelet.pods.backoff import ContainerMemory, in_backoff

Step = Literal["use", "pull", "never", "backoff"]
Events = tuple[tuple[str, str, str], ...]  # (reason, message, type)
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")


def pull_policy(container: Mapping[str, Any]) -> str:
    image = str(container.get("image", ""))
    default = "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] \
        else "IfNotPresent"
    return str(container.get("imagePullPolicy") or default)


@dataclass(frozen=True)
class PullDecision:
    step: Step  # use the present image, pull it, refuse (Never), or wait (backoff)
    waiting: tuple[str, str] = ("", "")  # the container's waiting reason and message
    events: Events = ()


def decide_pull(container: Mapping[str, Any], present: bool, memory: ContainerMemory,
                now: float) -> PullDecision:
    image = str(container.get("image", ""))
    policy = pull_policy(container)
    if present and policy != "Always":
        return PullDecision("use", events=(
            ("Pulled", f'Container image "{image}" already present on machine', "Normal"),))
    if policy == "Never":
        return PullDecision("never", waiting=(
            "ErrImageNeverPull", f'Container image "{image}" is not present with pull policy '
            "of Never"))
    if in_backoff(memory.backoff, now) and memory.waiting[0] in PULL_FAILURES:
        events: Events = ()
        if memory.waiting[0] == "ErrImagePull":
            events = (("BackOff", f'Back-off pulling image "{image}"', "Normal"),
                      ("Failed", "Error: ImagePullBackOff", "Warning"))
        return PullDecision("backoff", waiting=("ImagePullBackOff",
                                                f'Back-off pulling image "{image}"'),
                            events=events)
    return PullDecision("pull", events=(("Pulling", f'Pulling image "{image}"', "Normal"),))
