"""Property-based (Hypothesis) tests of deploybot's edges: the HTTP endpoints served for real
and every slash-command parser (issue 14). Profiles: tests/fuzz/conftest.py."""
