"""`bridge setup` and `bridge verify`: reconcile and check Chatwoot, Evolution and Mailcow."""

from __future__ import annotations
