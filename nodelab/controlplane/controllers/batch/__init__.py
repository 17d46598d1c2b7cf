"""The batch controllers (upstream's pkg/controller/job, cronjob and ttlafterfinished): Jobs,
CronJobs and TTL-after-finished; each a pure plan beside the controller that applies it. They
share the workload controllers' pod control and status conditions (`workloads/`).
"""
