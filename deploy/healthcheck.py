"""Container healthcheck for `web`: GET /healthz from inside the container, exit 0 when it answers 200.

Django rejects a Host it does not allow, so the request names the first host in ALLOWED_HOSTS
instead of 127.0.0.1, which a production ALLOWED_HOSTS usually leaves out.
"""

import os
import sys
import urllib.request

hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
request = urllib.request.Request(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure is "unhealthy"; the message lands in `docker inspect`
    print(f"healthz failed: {exc}", file=sys.stderr)
    sys.exit(1)
