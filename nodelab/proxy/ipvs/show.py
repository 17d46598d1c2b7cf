"""The IPVS plan as text: what `ip addr`, `ipvsadm -Ln`, `ipset save` and `iptables-save`
would show on a node whose kube-proxy runs in IPVS mode (`show_ipvs`).

Where the kernel has no IPVS the plan cannot be applied; this text is how a learner still sees
it, under a heading that says it was not applied.
"""

from __future__ import annotations

from nodelab.proxy.ipvs.plan import DUMMY_DEVICE, IpvsPlan

NOT_APPLIED = "PLAN ONLY (not applied)"


def ipvsadm_text(plan: IpvsPlan) -> str:
    """The virtual servers as `ipvsadm -Ln` lists them (without the connection counters)."""
    lines = ["Prot LocalAddress:Port Scheduler Flags",
             "  -> RemoteAddress:Port           Forward Weight"]
    draining: dict[str, list[str]] = {}
    for key, rs in plan.draining:
        draining.setdefault(key, []).append(f"  -> {str(rs):<29}Masq    0   (draining)")
    for vs in sorted(plan.virtual_servers, key=lambda v: (v.protocol, v.address, v.port)):
        flags = " ".join(vs.flags)
        timeout = f" timeout {vs.persistent_seconds}" if vs.persistent_seconds else ""
        lines.append(f"{vs.protocol:<4} {vs.address}:{vs.port} {vs.scheduler}"
                     f"{' ' + flags if flags else ''}{timeout}")
        lines += [f"  -> {str(rs):<29}Masq    {rs.weight}" for rs in vs.real_servers]
        lines += draining.get(vs.key, [])
    return "\n".join(lines)


def show_ipvs(plan: IpvsPlan, *, applied: bool = False, node: str = "") -> str:
    """Every part of the plan, each under the command that would show it on the node."""
    where = f" on {node}" if node else ""
    title = f"kube-proxy IPVS mode{where}" + ("" if applied else f": {NOT_APPLIED}")
    addresses = " ".join(f"{a}/32" for a in plan.bound_addresses) or "(none)"
    parts = [
        f"== {title} ==",
        f"# ip -4 addr show {DUMMY_DEVICE}   (a dummy link, down: the kernel only needs the "
        "addresses to be local)",
        addresses,
        "",
        "# ipvsadm -Ln",
        ipvsadm_text(plan),
        "",
        "# ipset save (restore form; sets with no entries are still created)",
        plan.ipset_script.rstrip("\n"),
        "",
        "# iptables-restore --noflush (the fixed rules; no chain per Service)",
        plan.iptables_payload.rstrip("\n"),
        "",
        "# jumps from the built-in chains (iptables -I ...)",
        *(f"-t {j.table} -I {j.src_chain} {j.rule_text()}" for j in plan.jumps),
        "",
        "# sysctls",
        *(f"{name.replace('/', '.')} = {value}" for name, value in plan.sysctls),
    ]
    return "\n".join(parts) + "\n"
