"""The REST registry: what create, update, patch, apply and delete do to an object of each kind
before it is stored (upstream's `registry/` and `apiserver/pkg/registry`), and the virtual review
resources (SelfSubjectReview, SelfSubjectAccessReview).
"""
