"""The workload controllers: Deployments, ReplicaSets and ReplicationControllers, DaemonSets,
StatefulSets (with their ControllerRevisions) and the HorizontalPodAutoscaler; each a pure plan
beside the controller that applies it, and the pod control and status conditions they share
with the batch controllers (`batch/`).
"""
