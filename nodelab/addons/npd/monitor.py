"""A kernel log line in, the problems it shows out (pkg/systemlogmonitor/log_monitor.go).

Each line is pushed into the monitor's buffer and every rule is tried in order. A *temporary*
rule that matches makes a Warning event with the rule's reason and the matched lines as its
message (`OOMKilling`: "Memory cgroup out of memory: Killed process 1234 (sh) total-vm:...").
A *permanent* rule sets its condition True with the rule's reason and the lines as message;
only a change (False -> True, or another reason) makes an event, upstream's
`Node condition KernelDeadlock is now: True, reason: DockerHung, message: "..."`.
At start every condition is False with its default reason and message
(`KernelDeadlock`/`KernelHasNoDeadlock`/"kernel has no deadlock"), transition time now.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from nodelab.addons.npd.config import TEMPORARY, MonitorConfig
from nodelab.addons.npd.log_buffer import LogBuffer

WARNING, NORMAL = "Warning", "Normal"


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" / "False" / "Unknown"
    transition: float  # seconds since the epoch
    reason: str
    message: str


@dataclass(frozen=True)
class Event:
    type: str  # Warning / Normal
    reason: str
    message: str
    timestamp: float


@dataclass(frozen=True)
class Status:
    source: str
    events: tuple[Event, ...] = ()
    conditions: tuple[Condition, ...] = ()


def condition_change_event(kind: str, status: str, reason: str, message: str,
                           timestamp: float) -> Event:
    """util.GenerateConditionChangeEvent (Go's %q quoting, which JSON's matches for text)."""
    return Event(WARNING if status == "True" else NORMAL, reason,
                 f"Node condition {kind} is now: {status}, reason: {reason}, "
                 f"message: {json.dumps(message, ensure_ascii=False)}", timestamp)


@dataclass
class LogMonitor:
    """One configuration's rules and conditions. `accepts` may veto a match (node_scope.py)."""

    config: MonitorConfig
    accepts: Callable[[str, Sequence[str], Sequence[str]], bool] = lambda *_: True
    conditions: list[Condition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.buffer = LogBuffer(self.config.buffer_size)
        self.patterns = [rule.compiled() for rule in self.config.rules]

    def initial_status(self, now: float) -> Status:
        """Every condition False with its default reason and message (initializeStatus)."""
        self.conditions = [Condition(c.type, "False", now, c.reason, c.message)
                           for c in self.config.conditions]
        return Status(self.config.source, conditions=tuple(self.conditions))

    def parse(self, line: str, timestamp: float) -> list[Status]:
        """The statuses one kernel log line makes (none for most lines)."""
        self.buffer.push(line)
        statuses = []
        for rule, pattern in zip(self.config.rules, self.patterns, strict=True):
            matched = self.buffer.match(pattern)
            if not matched or not self.accepts(rule.reason, matched, list(self.buffer.lines)):
                continue
            message = "\n".join(matched)
            if rule.message_suffix:
                message = f"{message}; {rule.message_suffix}"
            if rule.type == TEMPORARY:
                statuses.append(Status(self.config.source, (Event(
                    WARNING, rule.reason, message, timestamp),), tuple(self.conditions)))
                continue
            events: list[Event] = []
            for index, condition in enumerate(self.conditions):
                if condition.type != rule.condition:
                    continue
                if condition.status == "False" or condition.reason != rule.reason:
                    condition = replace(condition, transition=timestamp, message=message)
                    events.append(condition_change_event(condition.type, "True", rule.reason,
                                                         message, timestamp))
                self.conditions[index] = replace(condition, status="True", reason=rule.reason)
                break
            statuses.append(Status(self.config.source, tuple(events), tuple(self.conditions)))
        return statuses
