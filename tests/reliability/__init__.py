"""Helper processes for the reliability tests (run as ``python -m tests.reliability.X``)."""
