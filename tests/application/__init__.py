"""Tests of the application layer: use cases, ports and expressions."""
