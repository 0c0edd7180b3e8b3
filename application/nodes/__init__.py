"""Node executors that need no network: they run inside the worker process."""
