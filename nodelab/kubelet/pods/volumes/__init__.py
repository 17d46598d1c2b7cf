"""Pod volumes on the node: `pod_volumes.py` makes each volume a directory and each volumeMount a
CRI mount; `atomic_writer.py` writes configMap/secret/downwardAPI/projected payloads as upstream's
AtomicWriter; `fs_group.py` hands volumes to the pod's fsGroup; `subpath.py` resolves a subPath
beneath its volume and pins it; `host_path.py` checks a hostPath volume's `type`.
"""
