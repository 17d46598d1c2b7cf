"""The resource quota controller (kube-controller-manager's `resourcequota`): the decisions
are `nodelab.kube.quota.usage`'s, this package only reads the cache and writes the status."""
