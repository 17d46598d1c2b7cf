"""The kubelet's pod lifecycle: from a Pod bound to this node to sandboxes and containers.

- `qos.py`: QoS class, cgroup parent, CPU shares/quota and oom_score_adj (upstream formulas);
- `sandbox_plan.py` and `container_plan.py`: the CRI requests for a pod, as plain data;
- `env.py` (with `expansion.py`, `service_env.py`, `downward.py`): a container's environment;
- `volumes.py`: emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes;
- `actions.py`: what to do next for a pod (upstream's computePodActions), pure;
- `status.py`: the pod status from what the runtime reports, pure;
- `probes.py`: startup, liveness and readiness probes;
- `worker.py`: one worker thread per pod applying the actions through CRI;
- `manager.py`: watches this node's pods and runs the workers.
"""
