"""Browser tests of the staff portal in headless Chromium (Debian package, via Playwright)."""
