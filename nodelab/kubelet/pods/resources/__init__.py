"""A pod's resources on the node: `qos.py` (QoS class, cgroup parent, container CPU and memory
settings) and `pod_cgroup.py` (the pod-level cgroup and its limits).
"""
