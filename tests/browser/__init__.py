"""Browser tests (Chromium through Playwright); a package, so that its conftest is not
imported as `conftest` in place of tests/conftest.py (the tests import helpers from that one)."""
