"""The kubelet's pod lifecycle: from a Pod bound to this node to sandboxes and containers.

Decisions (pure, table-tested):
- `lifecycle.py`: the pod's life on the node: syncing, terminating, terminated;
- `actions.py`: what a sync does for a pod (upstream's computePodActions);
- `backoff.py`: the CrashLoopBackOff delay and what the kubelet remembers per container;
- `cri_plan.py`: the CRI requests for a pod, as plain data;
- `dns.py`: the pod's resolv.conf (dnsPolicy, dnsConfig); `etc_hosts.py`: its /etc/hosts;
- `downward.py`: the pod's own fields and a container's resources (env and volumes read them);
- `status.py`: the pod status from what the runtime reports;
- `termination_message.py`: a container's termination message file and how it is read back.

Sub-packages, one area each:
- `env/`: a container's environment (`variables.py`, with `expansion.py` for `$(VAR)` and
  `service_env.py` for the service variables);
- `volumes/`: emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes
  (`pod_volumes.py`), written as upstream's AtomicWriter (`atomic_writer.py`), handed to the
  pod's fsGroup (`fs_group.py`), mounted by subPath without escaping (`subpath.py`), hostPath
  `type` checks (`host_path.py`);
- `security/`: security contexts as CRI sees them (`security_context.py`) and admitted
  sysctls (`sysctls.py`);
- `resources/`: QoS class, container resources (`qos.py`) and the pod-level cgroup
  (`pod_cgroup.py`);
- `probes/`: probe handlers and the tracker that says when a probe is due (`probes.py`), and
  the worker's probe step (`prober.py`);
- `images/`: whether to pull (`pull_policy.py`), the pull's credentials from image pull
  secrets (`keyring.py`), and the image manager that pulls before a start (`manager.py`).

Actions (thin, through CRI):
- `worker.py`: one worker thread per pod carrying the decisions out, in SyncPod's steps;
- `hooks.py`: the postStart/preStop hooks;
- `termination.py`: killing a terminating pod, removing a deleted one;
- `ephemeral.py`: an ephemeral container in its target's PID namespace;
- `runtime_calls.py`: the CRI calls; `settings.py`: the workers' settings;
- `pleg.py`: the relist that wakes workers; `manager.py`: watches this node's pods and runs
  the workers.
"""
