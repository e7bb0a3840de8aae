"""Tests of the durable delivery machinery (issue 4): webhook inbox and outbox."""
