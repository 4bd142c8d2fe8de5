"""Process hardening applied at start-up by the CLI (and so by the app, which the CLI execs).

- No core dumps: a crash must not write decrypted audio or text to disk (the brief's "crash dumps").
- A private umask: whatever this process creates (vault files, exports the user asked for) is readable by
  this user only, not by other accounts on a shared workstation.
Both survive `exec`, so the Streamlit server started by `workstation app` inherits them.
"""

from __future__ import annotations

import os
import resource


def disable_core_dumps() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def private_umask() -> None:
    os.umask(0o077)


def harden_process() -> None:
    disable_core_dumps()
    private_umask()
