"""containerd as a lab node's CRI runtime (`nodelab up --runtime containerd`): its configuration,
and what it makes on the host outside the lab's state dir.
"""
