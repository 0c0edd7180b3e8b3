"""The `treadle` command line (typer + rich)."""
