"""``kill_harness.py`` with items restored several at a time (run as a script, not collected).

python kill_harness_concurrent.py COMMAND ARGS...   -> as kill_harness.py, with the setting
                                                       TENANTGUARD_RESTORE_CONCURRENCY = 4
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kill_harness  # sets Django up
from django.conf import settings

settings.TENANTGUARD_RESTORE_CONCURRENCY = 4

if __name__ == "__main__":
    print(json.dumps(kill_harness.main(*sys.argv[1:]), default=str))
