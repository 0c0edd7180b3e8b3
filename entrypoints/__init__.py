"""Entry points: the API, the worker, the CLI, and the containers that wire them."""
