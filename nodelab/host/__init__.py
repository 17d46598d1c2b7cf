"""Linux facts and primitives: commands, netlink, processes, cgroups and the doctor."""
