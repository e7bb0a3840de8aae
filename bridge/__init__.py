"""Bridge between Evolution API (WhatsApp), Typebot and Chatwoot."""

__version__ = "0.1.0"
