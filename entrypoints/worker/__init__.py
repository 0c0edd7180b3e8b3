"""The worker process: `treadle worker`."""
