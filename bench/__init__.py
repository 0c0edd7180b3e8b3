"""Benchmarks: throughput, step overhead, pickup latency, claim cost, API and memory.

`make bench` (or `python -m bench`) runs every workload against a real PostgreSQL and
prints one table; `--quick` runs smaller versions. Figures are reported, not asserted.
"""
