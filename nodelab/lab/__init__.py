"""The lab harness: topology, daemons, registry, ledger and cleanup."""
