"""Tests of the state layer (FSM, repository backends, migrations)."""
