"""kube-proxy's iptables mode: the pure plan (chains, per-service rules) and its
iptables-restore applier."""
