"""The workload controllers: Deployments, ReplicaSets and ReplicationControllers, DaemonSets,
StatefulSets (with their ControllerRevisions), Jobs, CronJobs and TTL-after-finished; each a
pure plan beside the controller that applies it, and the status conditions they share.
"""
