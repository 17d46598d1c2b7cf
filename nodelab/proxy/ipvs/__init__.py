"""kube-proxy's IPVS mode: the pure plan (virtual servers, ipsets, the fixed iptables rules)
and the ipvsadm view."""
