"""gunicorn's settings for the app, read from the directory gunicorn starts in (the image's /app).

The command line (docker-compose.yml, bench/run.py) sets the bind address and the workers.
"""

import os

# gunicorn answers requests over its limits itself, before Django, with a plain HTML 400; these
# are its largest values, so that every realistic request reaches the app and its JSON errors:
# a request line (method, path and query) of up to 8,190 bytes, headers of up to 16 KB each
# (staff JWTs, dashboard cookies).
limit_request_line = 8190
limit_request_field_size = 16380


def on_starting(server):
    # The number of processes serving the app, for the system check that refuses a cache kept
    # in each process (clinic_crm/common/checks.py) when there is more than one.
    os.environ["CLINIC_CRM_WEB_PROCESSES"] = str(server.cfg.workers)
