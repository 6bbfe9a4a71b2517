"""Synthetic provider extracts for demos, training, tests and benchmarks: never real personal data."""
