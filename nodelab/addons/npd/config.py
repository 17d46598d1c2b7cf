"""A system log monitor's configuration, as upstream reads it (pkg/systemlogmonitor/config.go).

The JSON of upstream's `config/kernel-monitor.json`: the watcher (`plugin`, `logPath`,
`lookback`, `delay`, `skipList`), `bufferSize` (default 10 lines), `source` (the events'
component), the default `conditions` and the `rules`. Defaults are upstream's
(`ApplyDefaultConfiguration`): bufferSize 10, lookback "0", metricsReporting true.

Checked where upstream would fail at start (`klog.Fatalf`): a rule whose pattern does not compile,
a rule type other than temporary/permanent, a permanent rule naming no default condition. nodelab
reads the kernel log only: a `plugin` other than `kmsg` (filelog, journald) is refused by name,
as are `pluginConfig` and `skipList` (upstream's kmsg watcher reads neither) and any field
upstream does not define. Patterns are Go RE2; the ones upstream ships mean the
same in Python's `re` with ASCII classes (`\\w`, `\\d`, `\\s` are ASCII in RE2).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TEMPORARY, PERMANENT = "temporary", "permanent"
PLUGINS = ("kmsg",)
DEFAULT_BUFFER_SIZE = 10
_FIELDS = {"plugin", "pluginConfig", "logPath", "lookback", "delay", "skipList", "bufferSize",
           "source", "conditions", "rules", "metricsReporting"}
_RULE_FIELDS = {"type", "condition", "reason", "pattern", "patternGeneratedMessageSuffix"}
_CONDITION_FIELDS = {"type", "reason", "message", "status", "transition"}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
          "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class ConfigError(Exception):
    """The configuration cannot be used (upstream refuses it at start)."""


@dataclass(frozen=True)
class DefaultCondition:
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class Rule:
    type: str
    reason: str
    pattern: str
    condition: str = ""
    message_suffix: str = ""

    def compiled(self) -> re.Pattern[str]:
        """The pattern anchored to the end of the buffered lines (`CompilePattern`)."""
        return re.compile(f"(?:{self.pattern})\\Z", re.ASCII)


@dataclass(frozen=True)
class MonitorConfig:
    source: str
    log_path: str = "/dev/kmsg"
    plugin: str = "kmsg"
    lookback: float = 0.0  # seconds
    delay: float = 0.0  # seconds after boot
    buffer_size: int = DEFAULT_BUFFER_SIZE
    conditions: tuple[DefaultCondition, ...] = ()
    rules: tuple[Rule, ...] = ()
    metrics_reporting: bool = True


def parse_duration(text: str, what: str) -> float:
    """A Go duration ("5m", "1h30m", "300ms", "0") in seconds (time.ParseDuration)."""
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    parts = _DURATION_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        raise ConfigError(f"{what}: invalid duration {text!r} (Go syntax, e.g. 5m, 30s, 0)")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return -seconds if text.startswith("-") else seconds


def _unknown(obj: Mapping[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(obj) - known)
    if extra:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(extra)}")


def _rule(raw: Any, index: int, conditions: set[str], where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: rules[{index}] is not an object")
    _unknown(raw, _RULE_FIELDS, f"{where}: rules[{index}]")
    rule = Rule(type=str(raw.get("type", "")), reason=str(raw.get("reason", "")),
                pattern=str(raw.get("pattern", "")), condition=str(raw.get("condition", "")),
                message_suffix=str(raw.get("patternGeneratedMessageSuffix", "")))
    if rule.type not in (TEMPORARY, PERMANENT):
        raise ConfigError(f"{where}: rules[{index}] ({rule.reason}): type {rule.type!r} is "
                          f"neither {TEMPORARY!r} nor {PERMANENT!r}")
    if rule.type == PERMANENT and rule.condition not in conditions:
        raise ConfigError(f"{where}: rules[{index}] ({rule.reason}): permanent rule for "
                          f"condition {rule.condition!r}, which is not in conditions")
    try:
        rule.compiled()
    except re.error as exc:
        raise ConfigError(f"{where}: rules[{index}] ({rule.reason}): pattern "
                          f"{rule.pattern!r} does not compile: {exc}") from exc
    return rule


def parse_config(text: str, where: str) -> MonitorConfig:
    """The monitor configuration in `text` (read from `where`), checked; ConfigError if not."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: not a JSON object")
    _unknown(raw, _FIELDS, where)
    plugin = str(raw.get("plugin", ""))
    if plugin not in PLUGINS:
        raise ConfigError(f"{where}: plugin {plugin!r} is not supported: nodelab's detector "
                          "reads the kernel log only (plugin kmsg)")
    for unused in ("pluginConfig", "skipList"):  # upstream's kmsg watcher reads neither
        if raw.get(unused):
            raise ConfigError(f"{where}: {unused} is not supported by the kmsg plugin")
    defaults = []
    for index, item in enumerate(raw.get("conditions") or []):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: conditions[{index}] is not an object")
        _unknown(item, _CONDITION_FIELDS, f"{where}: conditions[{index}]")
        defaults.append(DefaultCondition(str(item.get("type", "")), str(item.get("reason", "")),
                                         str(item.get("message", ""))))
    names = {c.type for c in defaults}
    rules = tuple(_rule(r, i, names, where) for i, r in enumerate(raw.get("rules") or []))
    size = raw.get("bufferSize") or DEFAULT_BUFFER_SIZE
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"{where}: bufferSize {size!r} is not a positive number of lines")
    return MonitorConfig(
        source=str(raw.get("source", "")), log_path=str(raw.get("logPath") or "/dev/kmsg"),
        plugin=plugin, lookback=parse_duration(str(raw.get("lookback") or "0"),
                                                f"{where}: lookback"),
        delay=parse_duration(str(raw.get("delay") or "0"), f"{where}: delay"),
        buffer_size=size,
        conditions=tuple(defaults), rules=rules,
        metrics_reporting=bool(raw.get("metricsReporting", True)))
