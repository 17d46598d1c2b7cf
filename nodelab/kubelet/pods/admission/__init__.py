"""Pod admission: before anything of a new pod starts, the kubelet's admit handlers decide
whether the node can run it (upstream's canAdmitPod and its lifecycle.PodAdmitHandlers),
as pure functions: `handlers.admit_pod` runs them in upstream's order.
"""

from nodelab.kubelet.pods.admission.handlers import admit_pod
from nodelab.kubelet.pods.admission.predicates import admit, admitted_peers
from nodelab.kubelet.pods.admission.result import Rejection

__all__ = ["Rejection", "admit", "admit_pod", "admitted_peers"]
