"""Tests of bridge.render."""
