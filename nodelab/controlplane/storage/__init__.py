"""Storage: the object store (what etcd plus kube-apiserver's watch cache are) and the label and
field selectors it filters lists and watches with.
"""
