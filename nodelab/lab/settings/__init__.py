"""A lab's settings, checked before anything is made (pure: no lab state, no processes).

- `up.py`: `up`'s settings (node monitor grace period, restart backoff cap, ...), checked and
  compared with a lab that is up already;
- `kubelet.py`: kubelet configuration fragments for every node's kubelet (`--kubelet-config`),
  checked as the kubelet reads them.

Applying a change to a running lab is `lab/settings_changes.py`'s.
"""
