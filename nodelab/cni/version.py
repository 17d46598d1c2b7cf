"""CNI spec versions: which ones nodelab speaks, how to compare them, how to pick one.

nodelab's plugins and invoker implement spec 1.1.0 and accept every version whose result has the
0.3+ shape (interfaces, ips with an interface index, routes, dns): 0.3.0 to 1.1.0. Results only
differ by version in small ways (0.3.x/0.4.0 carry `version` in each IP in the spec text, which
the reference plugins omit; so does nodelab), so one result model serves them all.

Verbs by version: CHECK needs 0.4.0+, STATUS and GC need 1.1.0; the invoker skips a verb the
conflist version does not have, as libcni does.
"""

from __future__ import annotations

from nodelab.cni.errors import INCOMPATIBLE_VERSION, CNIError

CURRENT = "1.1.0"
SUPPORTED = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")


def parse(version: str) -> tuple[int, int, int]:
    """`"1.0.0"` -> (1, 0, 0); raise CNIError code 1 if it is not a version at all."""
    parts = version.split(".")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 3:
        raise CNIError(INCOMPATIBLE_VERSION, f"cannot parse CNI version {version!r}")
    return numbers[0], numbers[1], numbers[2]


def at_least(version: str, minimum: str) -> bool:
    return parse(version) >= parse(minimum)


def require_supported(version: str) -> None:
    """Raise code 1 unless nodelab can speak `version`."""
    if version not in SUPPORTED:
        raise CNIError(
            INCOMPATIBLE_VERSION,
            "incompatible CNI versions",
            f"config is {version!r}, plugin supports {list(SUPPORTED)}",
        )


def pick(versions: list[str]) -> str:
    """The highest of `versions` nodelab supports (the 1.1 `cniVersions` rule)."""
    usable = [v for v in versions if v in SUPPORTED]
    if not usable:
        raise CNIError(
            INCOMPATIBLE_VERSION,
            "no CNI version in cniVersions is supported",
            f"cniVersions is {versions}, nodelab supports {list(SUPPORTED)}",
        )
    return max(usable, key=parse)
