"""Joining an existing cluster (`nodelab join --kubeconfig K`): the join steps, the kubeconfigs
derived from the user's, the kubelets' TLS bootstrap, and the relays a joined lab runs on its
gateway (API relay, registry proxy).
"""
