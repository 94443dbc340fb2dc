#!/usr/bin/env python
"""Django's command-line utility for Custos."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.env import ImproperlyConfiguredEnv

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfiguredEnv as exc:
        # a configuration mistake is one line naming what to set, not a traceback (defect 8)
        sys.stderr.write(f"custos: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
