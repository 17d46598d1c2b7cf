"""Images for a pod's containers (upstream's pkg/kubelet/images and pkg/credentialprovider).

- `manager.py`: make sure a container's image is there before it starts (EnsureImageExists);
- `pull_policy.py`: whether to pull (`imagePullPolicy`, `ErrImageNeverPull`);
- `keyring.py`: the credentials of a pull, from the pod's image pull secrets.
"""
