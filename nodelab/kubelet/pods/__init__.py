"""The kubelet's pod lifecycle: from a Pod bound to this node to sandboxes and containers.

Decisions (pure, table-tested):
- `lifecycle.py`: the pod's life on the node: syncing, terminating, terminated;
- `actions.py`: what a sync does for a pod (upstream's computePodActions);
- `backoff.py`: the CrashLoopBackOff delay and what the kubelet remembers per container;
- `pull_policy.py`: whether to pull an image before a start;
- `cri_plan.py`: the CRI requests for a pod, as plain data;
- `env.py` (with `expansion.py`, `service_env.py`, `downward.py`): a container's environment;
- `dns.py`: the pod's resolv.conf (dnsPolicy, dnsConfig);
- `qos.py`, `pod_cgroup.py`: QoS class, cgroup parent, CPU shares/quota, oom_score_adj;
- `status.py`: the pod status from what the runtime reports;
- `probes.py`: probe handlers and the tracker that says when a probe is due and what it means.

Actions (thin, through CRI):
- `worker.py`: one worker thread per pod carrying the decisions out, in SyncPod's steps;
- `hooks.py`, `prober.py`: the postStart/preStop hooks and the probe step;
- `termination.py`: killing a terminating pod, removing a deleted one;
- `ephemeral.py`: an ephemeral container in its target's PID namespace;
- `volumes.py`: emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes;
- `runtime_calls.py`: the CRI calls; `settings.py`: the workers' settings;
- `pleg.py`: the relist that wakes workers; `manager.py`: watches this node's pods and runs
  the workers.
"""
