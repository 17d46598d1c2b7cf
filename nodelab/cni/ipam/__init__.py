"""host-local IPAM: address ranges (`ranges`), the reservation store (`store`), allocation
(`allocator`). The plugin face is `nodelab.cni.plugins.host_local`."""
