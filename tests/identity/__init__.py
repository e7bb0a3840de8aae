"""Tests of staff identity: onboarding, login, sessions, portal and Chatwoot SSO."""
