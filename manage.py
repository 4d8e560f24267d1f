#!/usr/bin/env python
"""Django's command-line entry point for zkarena."""

import os
import sys
from pathlib import Path


def main() -> None:
    # The project configuration is the package platform/zkarena_site. The folder platform/
    # is only ever a path entry, never a package: a package named `platform` would shadow the
    # standard library module that Django, pytest and Celery import.
    sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zkarena_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
