"""The peers' own virtual environment (`.venv-peers/`), with pinned versions from PyPI.

It is kept apart from the product's environment: the peers are never Treadle dependencies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT

VENV = ROOT / ".venv-peers"
PYTHON = VENV / "bin" / "python"
DRIVER = Path(__file__).resolve().parent / "drivers" / "driver.py"
PINS = (
    "pgqueuer[asyncpg]==1.6.0",
    "asyncpg==0.32.0",
    "procrastinate==3.10.0",
    "dbos==3.4.0",
    "psycopg[binary,pool]==3.3.9",
)
STAMP = VENV / ".pins"


def ensure() -> Path:
    """The peers' Python, created or updated when the pins changed."""
    wanted = "\n".join(PINS)
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return PYTHON
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", *PINS], check=True)
    STAMP.write_text(wanted)
    return PYTHON


def versions() -> dict[str, str]:
    names = ("pgqueuer", "procrastinate", "dbos")
    code = (
        "import importlib.metadata as m, json;"
        f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    )
    output = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(output.stdout))
