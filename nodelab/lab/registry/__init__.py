"""The lab registry on the gateway and the demo images pushed to it (built from the host's busybox-
static plus a few tools).
"""
