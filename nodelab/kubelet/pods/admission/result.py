"""What an admit handler answers when it refuses a pod (upstream's lifecycle.PodAdmitResult
with Admit false): the pod becomes `phase: Failed` with this reason and
`message: Pod was rejected: <message>`, and a Warning event of the same reason and message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str
