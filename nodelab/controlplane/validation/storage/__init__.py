"""Validation of storage objects: PersistentVolumes and claims (core/v1), StorageClasses
(storage.k8s.io/v1)."""
