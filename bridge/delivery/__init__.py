"""Durable delivery: the stored webhook inbox and the transactional outbox."""
