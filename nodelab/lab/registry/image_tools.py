"""Shell tools the demo images put beside busybox's applets, where the busybox falls short.

The busybox `scripts/setup` builds (nodelab/host/busybox_build.py) needs none of them: its
shell looks at PATH before its applets, its `nc` is the full one (`-z`) and it has `printenv`.
The host's Debian 12 busybox-static, which the images carry when that build could not run, has
gaps a learner meets at once, and `image_tools` decides from the probes of
nodelab/host/busybox.py which of these the images get:

- `wget -T SEC` crashes with SIGSEGV (exit code 139): the package is built without wget's
  timeout feature, yet its option parser still accepts `-T` and stores the value through a
  null pointer. The image's `/usr/bin/wget` is then a small script that takes `-T SEC`,
  `-TSEC`, `-qT SEC` and `--timeout[=]SEC` out of the arguments and runs busybox's wget under
  busybox's `timeout SEC` (a bound on the whole transfer, where upstream wget bounds each
  network read); every other argument reaches busybox's wget as given.
- `printenv` is not an applet. The image's `/usr/bin/printenv` prints the environment, or the
  values of the variables named (exit code 1 when one is unset), as coreutils' printenv does.
- `nc -z` (is a TCP port open?) is refused: Debian builds busybox's small nc, without the
  full nc's zero-I/O mode. The image's `/usr/bin/nc` handles `-z` as busybox's full nc does
  (`-z [-v] [-n] [-w SEC] HOST PORT[-PORT]`: exit code 0 when a port accepted a connection, 1
  when none did; `-v` says `HOST (HOST:PORT) open` on stderr) by connecting with busybox's nc
  and `-e /bin/true`, which closes at once; `-u` with `-z` is refused (a UDP port cannot be
  told open without a reply). Without `-z` every argument reaches busybox's nc as given.

Debian's busybox-static runs its own applets before it looks at PATH (in `sh`, `env`,
`xargs`...), so there the names `wget` and `nc` would still reach the applets. Interactive
shells read `$ENV`; the images then set `ENV=/etc/shrc`, whose functions send them to the
scripts: `kubectl exec POD -- nc -z ...` and an interactive `kubectl exec -it POD -- sh` are
covered, a non-interactive `sh -c 'nc -z ...'` is not (the reason for the build).

All are plain POSIX sh run by busybox's own shell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nodelab.host.busybox import Busybox

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

NC = r"""#!/bin/sh
# nc: busybox nc plus -z (zero-I/O mode: does HOST accept a TCP connection on PORT?), which
# Debian's busybox-static is built without (see nodelab/lab/registry/image_tools.py).
zero=
for arg in "$@"; do
  case $arg in
    --) break ;;
    --*) ;;
    -*z*) zero=1 ;;
  esac
done
[ -z "$zero" ] && exec /bin/busybox nc "$@"
verbose= secs=
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    -?*)
      flags=${1#-}; shift
      while [ -n "$flags" ]; do
        flag=${flags%"${flags#?}"}; flags=${flags#?}
        case $flag in
          z|n) ;;
          v) verbose=1 ;;
          w) if [ -n "$flags" ]; then secs=$flags; flags=; else secs=$1; shift; fi ;;
          u) echo "nc: -u with -z is not supported: a UDP port cannot be told open without" \
                  "a reply" >&2; exit 2 ;;
          *) echo "nc: -$flag is not supported with -z (use -z [-v] [-n] [-w SEC])" >&2
             exit 2 ;;
        esac
      done ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ]; then
  echo "usage: nc -z [-v] [-n] [-w SEC] HOST PORT[-PORT]" >&2; exit 2
fi
host=$1 ports=$2
case $secs in *[!0-9]*) echo "nc: invalid number '$secs'" >&2; exit 2 ;; esac
low=${ports%-*} high=${ports#*-}
case $low$high in ''|*[!0-9]*) echo "nc: invalid port '$ports'" >&2; exit 2 ;; esac
status=1 port=$low
while [ "$port" -le "$high" ]; do
  if [ -n "$verbose" ]; then
    /bin/busybox nc ${secs:+-w $secs} "$host" "$port" -e /bin/true </dev/null && {
      echo "$host ($host:$port) open" >&2; status=0; }
  elif /bin/busybox nc ${secs:+-w $secs} "$host" "$port" -e /bin/true </dev/null 2>/dev/null
  then
    status=0
  fi
  port=$((port + 1))
done
exit $status
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

SHRC_HEAD = """# /etc/shrc: read by interactive shells (the images set ENV=/etc/shrc).
# busybox sh runs its applets before PATH: send these to nodelab's scripts in /usr/bin.
"""
SHRC_NC = 'nc() { /usr/bin/nc "$@"; }\n'
SHRC_WGET = 'wget() { /usr/bin/wget "$@"; }\n'

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELL_ENV = "ENV=/etc/shrc"


@dataclass(frozen=True)
class ImageTools:
    """nodelab's own files in the busybox layer, and the environment the images set."""

    scripts: Mapping[str, str]  # path in the image -> script (replaces the applet's link)
    files: Mapping[str, str]  # path in the image -> content
    env: tuple[str, ...]


def image_tools(busybox: Busybox) -> ImageTools:
    """The scripts and files the images need beside `busybox`'s applets (none for the build)."""
    scripts: dict[str, str] = {}
    hooks = ""
    if not busybox.has_printenv:
        scripts["usr/bin/printenv"] = PRINTENV
    if not busybox.nc_zero_io:
        scripts["usr/bin/nc"] = NC
        hooks += SHRC_NC
    if busybox.wget_crashes_on_timeout:
        scripts["usr/bin/wget"] = WGET
        hooks += SHRC_WGET
    if busybox.applets_first and hooks:
        return ImageTools(scripts, {"etc/shrc": SHRC_HEAD + hooks}, (PATH_ENV, SHELL_ENV))
    return ImageTools(scripts, {}, (PATH_ENV,))
