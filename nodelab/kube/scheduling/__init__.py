"""What the scheduler and the kubelet both decide about a pod and a node (upstream shares it
too: k8s.io/component-helpers/scheduling and the scheduler's AdmissionCheck, which the
kubelet's admission calls): a pod's requests (`resources`), and the predicates `predicates`
(tolerations, node selectors and affinity, host ports, resource fit)."""
