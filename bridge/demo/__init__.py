"""The embedded demo: simulators, `bridge setup` and the bridge on loopback, and the checklist."""
