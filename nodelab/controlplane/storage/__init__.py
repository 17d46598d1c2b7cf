"""Storage: the object store (etcd plus the watch cache) and the watch streams served from it."""
