"""The volume controllers: the PersistentVolume binder (`binder.py` applying the decisions of
`binder_plan.py`, with the matching rules of `nodelab/kube/persistent_volumes.py`)."""
