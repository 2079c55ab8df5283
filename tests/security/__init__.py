"""Attacks on the store, the adapters and the CLI, each shown refused (issue 11)."""
