"""The lab supervisor: every lab daemon is restarted when it exits, as systemd does on a node.

- `policy.py`: what to do when a daemon exits (restart after a growing delay, or give up at
  the start limit), a pure function with table tests;
- `units.py`: the files in `run/` that are the whole protocol between clients and supervisor;
- `supervisor.py`: the supervisor process, the only one that starts and stops daemons;
- `client.py`: starting the supervisor, asking it to start/stop/restart a daemon, stopping it.
"""
