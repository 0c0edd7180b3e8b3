"""`python -m entrypoints.cli`: the same as `treadle`."""

from entrypoints.cli.main import app

app(prog_name="treadle")
