"""kube-proxy: Service DNAT in iptables and nftables modes."""
