"""`python -m entrypoints.worker`: the same as `treadle worker`."""

import sys

from entrypoints.settings import SettingsError, load_settings
from entrypoints.worker.main import main

try:
    main(load_settings())
except SettingsError as error:
    print(f"treadle worker: {error}", file=sys.stderr)
    sys.exit(2)
