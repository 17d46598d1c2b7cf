"""Kubernetes API plumbing shared by the agents (kubelet, kube-proxy, controllers).

Only the official `kubernetes` client is used, so every agent works the same against the
embedded API server, kind or any cluster. `reflector.py` keeps a local copy of one resource
(list, then watch from the list's resourceVersion, relist on 410 Gone), as client-go does.
"""
