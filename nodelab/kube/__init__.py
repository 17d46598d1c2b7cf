"""Kubernetes API plumbing shared by the agents (kubelet, kube-proxy, controllers).

Agents reach the API through a kubeconfig only (`restclient.client_for`: nodelab's small client,
or the official `kubernetes` client where the kubeconfig needs it), so every agent works the
same against the embedded API server, kind or any cluster. `reflector.py` keeps a local copy
of one resource (list, then watch from the list's resourceVersion, relist on 410 Gone), as
client-go does.
"""
