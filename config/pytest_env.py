"""Pytest plugin loaded with ``-p`` before Django starts: selects the test profile of the settings.

A conftest would be too late, pytest-django imports the settings before conftests load.
"""

import os

os.environ.setdefault("CUSTOS_ENV", "test")
