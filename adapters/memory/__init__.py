"""The in-memory adapter: production code with the same contract as Postgres."""
