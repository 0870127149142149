#!/usr/bin/env python
"""Django's command-line utility for the clinic CRM."""

import os
import sys

if sys.version_info < (3, 12):
    sys.exit(f"The clinic CRM needs Python 3.12 or newer (Django 6.1); this is {sys.version.split()[0]}.")


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
