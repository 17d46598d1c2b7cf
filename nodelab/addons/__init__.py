"""Add-ons: the lab's own workloads (cluster DNS), run as pods by the lab's kubelets.

A real cluster runs its DNS server as a Deployment in kube-system; so does a lab. An add-on is
a program in this package, shipped in an image that `nodelab.lab.addons.image` builds from the
host's Python: the interpreter, the standard-library modules the add-on imports, `dnslib`, and
`nodelab/addons/` itself. So an add-on imports nothing but the standard library, dnslib,
`nodelab.addons` and `nodelab.kubewire` (the API vocabulary it shares with the agents, standard
library only; import-linter contracts keep it that way), and reaches the API server the
way every in-cluster client does (`incluster.py`).
"""
