"""The entries a container's /etc/hosts starts with: localhost for IPv4 and IPv6 and the IPv6
link-local and multicast names, in upstream's order (the kubelet's `managedHostsFileContent`,
as Docker writes them too). The kubelet's managed file and the runtime's own sandbox file both
begin with them.
"""

from __future__ import annotations

LOCAL_ENTRIES = (
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
)
