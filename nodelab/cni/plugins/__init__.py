"""nodelab's CNI plugins, one module each, run as `python -m nodelab.cni.plugins.<name>`."""
