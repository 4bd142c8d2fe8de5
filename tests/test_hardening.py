"""The CLI process (and the app it execs) cannot dump core and creates private files."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import os, resource, sys
from workstation.cli.main import main
from workstation.platform.hardening import harden_process
harden_process()
print(resource.getrlimit(resource.RLIMIT_CORE)[0], resource.getrlimit(resource.RLIMIT_CORE)[1], oct(os.umask(0)))
"""


def test_harden_process_disables_core_dumps_and_sets_private_umask():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    soft, hard, umask = out.stdout.split()
    assert (soft, hard, umask) == ("0", "0", "0o77")


def test_cli_main_hardens_before_running_a_command(tmp_path):
    """Through the real console entry point: a file the CLI writes is private to the user."""
    script = (
        "import sys, resource; sys.argv = ['workstation', 'version']\n"
        "from workstation.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"open({str(tmp_path / 'probe')!r}, 'w').close()\n"
        "print(resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split()[-1] == "0"
    assert (tmp_path / "probe").stat().st_mode & 0o077 == 0


def test_cli_process_is_not_dumpable_and_can_lock_key_pages() -> None:
    """PR_SET_DUMPABLE 0: same-user processes cannot ptrace it or read /proc/PID/mem; a key buffer can be mlocked."""
    script = (
        "import sys; sys.argv = ['workstation', 'version']\n"
        "from workstation.cli.main import main\n"
        "from workstation.platform import hardening\n"
        "print(hardening.is_dumpable())\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(hardening.is_dumpable(), hardening.lock_in_memory(bytes(range(32)) * 2))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    before, _version, after = out.stdout.splitlines()
    assert (before, after.split()[0]) == ("True", "False")
    import os
    import resource

    may_lock = os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] >= 65536
    assert after.split()[1] == str(may_lock)  # refused only where RLIMIT_MEMLOCK leaves no room
