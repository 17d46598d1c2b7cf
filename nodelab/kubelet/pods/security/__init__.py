"""Pod and container security as the kubelet turns it into CRI: `security_context.py` (the
effective security context, runAsNonRoot, seccomp, groups) and `sysctls.py` (which sysctls are
admitted).
"""
