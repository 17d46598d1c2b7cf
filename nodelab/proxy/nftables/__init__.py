"""kube-proxy's nftables mode: the pure plan (table skeleton, per-service chains and maps) and
its nft applier."""
