"""The steps of `up` that build an embedded lab, in order (`Lab.up` runs them under the lab's
lock; `join/` reuses the network, node daemon and readiness steps): the lab network
(`network`), the control plane (`controlplane`), each node's daemons (`node_daemons`, with the
runtime's in `runtime_daemon`) and the wait for every node to be Ready (`wait_ready`).
"""
