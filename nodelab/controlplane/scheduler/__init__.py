"""The scheduler: filters and scores under their upstream names, as pure functions of objects.

`plan.schedule(pod, nodes)` is the whole decision for one pod (which node, or why none) with
no I/O; `loop.py` is the thin client that watches unscheduled pods and binds them through
`pods/binding`, like kube-scheduler.
"""
