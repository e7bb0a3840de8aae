"""Conversation flows: each decides state changes and records outbox effects, no network I/O."""
