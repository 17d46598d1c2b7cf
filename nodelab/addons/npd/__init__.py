"""A node problem detector: kubernetes/node-problem-detector's kernel log monitor, as an add-on.

It runs as a DaemonSet (one pod per node, `nodelab/lab/addons/node_problem_detector.py`),
reads the kernel log from /dev/kmsg (a hostPath mount, as upstream's DaemonSet), matches each
message against upstream's rules (`config/kernel-monitor.json`, `config/readonly-monitor.json`)
and reports what it finds on its Node: *temporary* problems as Warning events (`OOMKilling`,
`TaskHung`, `KernelOops`, ...), *permanent* ones as node conditions (`KernelDeadlock`,
`ReadonlyFilesystem`, ...), which it first sets False with their default reasons
(`KernelHasNoDeadlock`, `FilesystemIsNotReadOnly`).

The modules follow upstream's packages:
- `config.py`     the monitor configuration (systemlogmonitor/config.go, types.go), checked;
- `kmsg.py`       a /dev/kmsg record parsed (go-kmsg-parser) and the start time (lookback);
- `log_buffer.py` the ring of recent lines patterns are matched against (log_buffer.go);
- `monitor.py`    a line in, a status out: events and conditions (log_monitor.go);
- `node_scope.py` what a lab adds: an OOM kill reported only by the node whose cgroup it was in;
- `correlator.py` client-go's event correlator (spam filter, aggregation, count), so a flood of
                  kernel messages does not flood the API server;
- `conditions.py` the k8s exporter's condition manager (when to patch the Node's status);
- `__main__.py`   the program: the kmsg reader, the monitors and the exporter wired together.
"""
