"""The pod network agent: what kindnet does on a kind node, for each nodelab node.

One small process per node, inside the node's network namespace, watching Nodes:

- when its own Node gets `spec.podCIDR` (from the control plane's node IPAM), it writes the
  node's CNI conflist (bridge `cni0` + host-local over that range + portmap) into the runtime's
  CNI config dir; the runtime then reports NetworkReady and the kubelet marks the node Ready;
- for every other Node it routes that node's pod range via the node's InternalIP (host-gw), and
  removes the routes of nodes that are gone.

- it enforces NetworkPolicies for its own pods, as kindnet, Calico or Cilium do: it watches
  policies, pods and namespaces and keeps nodelab's nft table `inet nodelab-netpol` in the
  node's namespace (`policy_plan.py` decides, `policy_ruleset.py` writes the rules,
  `policies.py` loads them).

`plan.py` computes the conflist and the routes as data; `agent.py` applies them.
"""
