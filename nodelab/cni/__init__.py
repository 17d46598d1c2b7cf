"""CNI: spec 1.1 plugins (bridge, host-local, loopback, portmap) and a libcni-style invoker."""
