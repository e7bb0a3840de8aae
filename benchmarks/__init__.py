"""Benchmarks of the bridge as a real process: ingest, latency, conversations, memory."""
