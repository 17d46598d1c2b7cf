"""Creating a controller's pods as upstream's `RealPodControl.CreatePods` does: every create is
recorded as an event on the owner (`SuccessfulCreate` "Created pod: <name>", or
`FailedCreate` "Error creating: <reason>"), and the first failure stops the batch (the next
sync tries again, as upstream's slow-start batches do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nodelab.kube.objects import Object
from nodelab.kube.restclient import RestError
from nodelab.kube.writer import Writer

# (event type, reason, message) -> recorded on the owner
RecordEvent = Callable[[str, str, str], None]


def create_pods(writer: Writer, namespace: str, bodies: Iterable[Object],
                event: RecordEvent) -> None:
    """Create `bodies` in `namespace` in order, recording each outcome; stop at a failure."""
    for body in bodies:
        try:
            pod = writer.create("pods", namespace, body)
        except RestError as exc:
            event("Warning", "FailedCreate", f"Error creating: {exc.message}")
            return
        event("Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
