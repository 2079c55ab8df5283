"""Versioned config stores."""
