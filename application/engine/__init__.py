"""The execution engine: how a worker advances one leased execution."""
