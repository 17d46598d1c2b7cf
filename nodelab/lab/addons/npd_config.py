"""The node problem detector's two monitor configurations: upstream's, one setting changed.

`KERNEL_MONITOR` is kubernetes/node-problem-detector's `config/kernel-monitor.json` and
`READONLY_MONITOR` its `config/readonly-monitor.json`: the same conditions, rules, patterns,
reasons and buffer, with **`lookback` 0s instead of 5m**. Every lab node on a machine reads the
one kernel log the machine has: looking back 5 minutes, a node's detector would report at start
what happened in other labs' pods, or before the lab existed. From 0s it reports what happens
from its start on (upstream's own default when `lookback` is unset).
"""

from __future__ import annotations

import json
from typing import Any

LOOKBACK = "0s"  # upstream's files: "5m"


def _temporary(reason: str, pattern: str) -> dict[str, str]:
    return {"type": "temporary", "reason": reason, "pattern": pattern}


def _permanent(condition: str, reason: str, pattern: str) -> dict[str, str]:
    return {"type": "permanent", "condition": condition, "reason": reason, "pattern": pattern}


KERNEL_MONITOR: dict[str, Any] = {
    "plugin": "kmsg",
    "logPath": "/dev/kmsg",
    "lookback": LOOKBACK,
    "bufferSize": 10,
    "source": "kernel-monitor",
    "metricsReporting": True,
    "conditions": [
        {"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock",
         "message": "kernel has no deadlock"},
        {"type": "XfsShutdown", "reason": "XfsHasNotShutDown",
         "message": "XFS has not shutdown"},
        {"type": "CperHardwareErrorFatal", "reason": "CperHardwareHasNoFatalError",
         "message": "UEFI CPER has no fatal error"},
    ],
    "rules": [
        _temporary("OOMKilling",
                   r"Killed process \d+ (.+) total-vm:\d+kB, anon-rss:\d+kB, file-rss:\d+kB.*"),
        _temporary("TaskHung", r"task [\S ]+:\w+ blocked for more than \w+ seconds\."),
        _temporary("UnregisterNetDevice",
                   r"unregister_netdevice: waiting for \w+ to become free. Usage count = \d+"),
        _temporary("KernelOops", r"BUG: unable to handle kernel NULL pointer dereference at .*"),
        _temporary("KernelOops", r"divide error: 0000 \[#\d+\] SMP"),
        _temporary("Ext4Error", r"EXT4-fs error .*"),
        _temporary("Ext4Warning", r"EXT4-fs warning .*"),
        _temporary("IOError", r"Buffer I/O error .*"),
        _permanent("XfsShutdown", "XfsHasShutdown", r"XFS .* Shutting down filesystem.?"),
        _temporary("MemoryReadError", r"CE memory read error .*"),
        _temporary("CperHardwareErrorCorrected",
                   r".*\[Hardware Error\]: event severity: corrected$"),
        _temporary("CperHardwareErrorRecoverable",
                   r".*\[Hardware Error\]: event severity: recoverable$"),
        _permanent("CperHardwareErrorFatal", "CperHardwareErrorFatal",
                   r".*\[Hardware Error\]: event severity: fatal$"),
        _permanent("KernelDeadlock", "DockerHung",
                   r"task docker:\w+ blocked for more than \w+ seconds\."),
    ],
}

READONLY_MONITOR: dict[str, Any] = {
    "plugin": "kmsg",
    "logPath": "/dev/kmsg",
    "lookback": LOOKBACK,
    "bufferSize": 10,
    "source": "readonly-monitor",
    "metricsReporting": True,
    "conditions": [
        {"type": "ReadonlyFilesystem", "reason": "FilesystemIsNotReadOnly",
         "message": "Filesystem is not read-only"},
    ],
    "rules": [
        _permanent("ReadonlyFilesystem", "FilesystemIsReadOnly",
                   "Remounting filesystem read-only"),
    ],
}

FILES = {"kernel-monitor.json": KERNEL_MONITOR, "readonly-monitor.json": READONLY_MONITOR}


def config_files() -> dict[str, str]:
    """The ConfigMap's data: file name -> JSON text, as upstream's ConfigMap holds them."""
    return {name: json.dumps(config, indent=2) + "\n" for name, config in FILES.items()}
