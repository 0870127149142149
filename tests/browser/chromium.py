"""How every browser run here launches Chromium: Debian's binary, headless, and off the network."""

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# A closed network: no background downloads, updates, sync or QUIC probes that would only time out.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
