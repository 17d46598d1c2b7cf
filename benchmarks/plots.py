"""The curves of a run as PNGs (matplotlib, the optional `bench` extra): sync time and
first-packet latency against the number of Services, one line per mode, and the restore
profile's load time per variant. Without matplotlib the page has tables only."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from benchmarks.schema import BenchmarkRun, Row

VARIANT_LABELS = {
    "nft": "iptables-nft-restore, as rendered",
    "nft-nocomment": "iptables-nft-restore, no comments",
    "nft-two-steps": "iptables-nft-restore, chains first",
    "legacy": "iptables-legacy-restore",
    "nft-native": "nft -f, nftables mode's rules",
}


def _series(rows: list[Row], mode: str, key: str) -> tuple[list[int], list[float]]:
    points = sorted((int(r["services"]), float(r[key])) for r in rows
                    if r.get("mode") == mode and r.get(key) is not None)
    return [p[0] for p in points], [p[1] for p in points]


def draw_all(runs: Mapping[str, BenchmarkRun], out_dir: Path) -> dict[str, list[Path]]:
    """Draw what the runs allow; returns image paths by report section (adapter name)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    proxy = runs.get("proxy-sync")
    if proxy is None or not proxy.results:
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, list[Path]] = {}
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for mode, colour in (("iptables", "tab:red"), ("nftables", "tab:blue")):
        for key, style, label in (("full_sync_s", "-o", "full sync"),
                                  ("floor_s", ":x", "apply tool alone (floor)"),
                                  ("partial_sync_s", "--s", "partial sync")):
            xs, ys = _series(proxy.results, mode, key)
            if xs:
                axes.plot(xs, ys, style, color=colour, label=f"{mode}: {label}")
    axes.set(xscale="log", yscale="log", xlabel="Services (10 endpoints each)",
             ylabel="seconds", title="kube-proxy sync time")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    path = out_dir / "proxy-sync.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    drawn["proxy-sync"] = [path]
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for mode, colour in (("iptables", "tab:red"), ("nftables", "tab:blue")):
        xs, ys = _series(proxy.results, mode, "first_packet_ms")
        if xs:
            axes.plot(xs, ys, "-o", color=colour, label=mode)
    axes.set(xscale="log", xlabel="Services (10 endpoints each)",
             ylabel="median TCP connect (ms)", title="First packet to the last ClusterIP")
    axes.set_ylim(bottom=0)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = out_dir / "first-packet.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    drawn["proxy-first-packet"] = [path]
    profile = runs.get("proxy-restore-profile")
    if profile is not None and profile.results:
        figure, axes = plt.subplots(figsize=(7, 4.2))
        for variant in dict.fromkeys(str(r["variant"]) for r in profile.results):
            points = sorted((int(r["services"]), float(r["seconds"])) for r in profile.results
                            if r["variant"] == variant and r.get("seconds") is not None)
            if points:
                axes.plot([p[0] for p in points], [p[1] for p in points], "-o",
                          label=VARIANT_LABELS.get(variant, variant))
        axes.set(xscale="log", yscale="log", xlabel="Services (10 endpoints each)",
                 ylabel="seconds", title="Loading the same rules into an empty namespace")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / "restore-profile.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        drawn["proxy-restore-profile"] = [path]
    return drawn
