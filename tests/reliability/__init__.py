"""Reliability suite: crashes, outages, duplicates and races against a subprocess bridge."""
