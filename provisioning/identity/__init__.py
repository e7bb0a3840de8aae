"""Staff identity: set-password links, login sessions, the staff portal and Chatwoot SSO."""
