"""One module per workload; each exposes `async def measure(context) -> list[Figure]`."""
