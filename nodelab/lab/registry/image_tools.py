"""Shell tools the demo images put beside busybox's applets, where busybox-static falls short.

Debian 12's busybox-static (1.35) has two gaps a learner meets at once:

- `wget -T SEC` crashes with SIGSEGV (exit code 139): the package is built without wget's
  timeout feature, yet its option parser still accepts `-T` and stores the value through a
  null pointer. The image's `/usr/bin/wget` is therefore a small script that takes `-T SEC`,
  `-TSEC`, `-qT SEC` and `--timeout[=]SEC` out of the arguments and runs busybox's wget under
  busybox's `timeout SEC` (a bound on the whole transfer, where upstream wget bounds each
  network read); every other argument reaches busybox's wget as given.
- `printenv` is not an applet. The image's `/usr/bin/printenv` prints the environment, or the
  values of the variables named (exit code 1 when one is unset), as coreutils' printenv does.

busybox's shell runs its own applets before it looks at PATH, so inside `sh` the name `wget`
would still reach the crashing applet. Interactive shells read `$ENV`; the images set
`ENV=/etc/shrc`, whose function sends `wget` to the script. `kubectl exec POD -- wget ...`
and an interactive `kubectl exec -it POD -- sh` are covered; a non-interactive `sh -c 'wget
-T 5 ...'` still reaches the applet. That is why `scripts/setup` fetches Debian 13's fixed
busybox-static (nodelab/host/busybox.py): with it, the images carry neither the script nor the
hook and set no ENV, as the busybox image on Docker Hub (`image_tools` decides).

All are plain POSIX sh run by busybox's own shell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WGET = r"""#!/bin/sh
# wget: busybox wget plus -T/--timeout (Debian's busybox-static crashes on -T; see
# nodelab/lab/registry/image_tools.py): -T SEC becomes busybox's `timeout SEC` around the transfer.
secs=
count=$#
while [ "$count" -gt 0 ]; do
  arg=$1; shift; count=$((count - 1))
  case $arg in
    --) set -- "$@" --
        while [ "$count" -gt 0 ]; do set -- "$@" "$1"; shift; count=$((count - 1)); done ;;
    -T|--timeout) secs=$1; shift; count=$((count - 1)) ;;
    --timeout=*) secs=${arg#--timeout=} ;;
    -T*) secs=${arg#-T} ;;
    -[cqS]*T*)
      set -- "$@" "${arg%%T*}"; secs=${arg#*T}
      if [ -z "$secs" ]; then secs=$1; shift; count=$((count - 1)); fi ;;
    *) set -- "$@" "$arg" ;;
  esac
done
case $secs in
  '') exec /bin/busybox wget "$@" ;;
  *[!0-9]*) echo "wget: invalid number '$secs'" >&2; exit 1 ;;
  *) exec /bin/busybox timeout "$secs" /bin/busybox wget "$@" ;;
esac
"""

PRINTENV = r"""#!/bin/sh
# printenv: the environment, or the values of the variables named (busybox has no printenv).
[ $# -eq 0 ] && exec /bin/busybox env
status=0
for name in "$@"; do
  case $name in
    ''|[0-9]*|*[!A-Za-z0-9_]*) status=1; continue ;;
  esac
  if eval "[ -n \"\${$name+set}\" ]"; then eval "printf '%s\n' \"\$$name\""; else status=1; fi
done
exit $status
"""

SHRC = r"""# /etc/shrc: read by interactive shells (the images set ENV=/etc/shrc).
# busybox sh runs its applets before PATH: send wget to /usr/bin/wget (see that script).
wget() { /usr/bin/wget "$@"; }
"""

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELL_ENV = "ENV=/etc/shrc"


@dataclass(frozen=True)
class ImageTools:
    """nodelab's own files in the busybox layer, and the environment the images set."""

    scripts: Mapping[str, str]  # path in the image -> script (replaces the applet's link)
    files: Mapping[str, str]  # path in the image -> content
    env: tuple[str, ...]


def image_tools(wget_crashes_on_timeout: bool) -> ImageTools:
    if not wget_crashes_on_timeout:
        return ImageTools({"usr/bin/printenv": PRINTENV}, {}, (PATH_ENV,))
    return ImageTools({"usr/bin/wget": WGET, "usr/bin/printenv": PRINTENV},
                      {"etc/shrc": SHRC}, (PATH_ENV, SHELL_ENV))

