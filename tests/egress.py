"""Reading an `strace -f` trace of network syscalls: what went (or tried to go) beyond this machine.

Every connect, bind, sendto, sendmsg and sendmmsg that names an address is classified by family and address.
Attempts count whether or not the kernel let them through: a DNS query refused inside the sealed worker's
namespace is still a query the code tried to send, and the test wants zero of those too.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field

# execve and exit_group date each process (how long the sealed worker ran); openat and creat show every file
# created, even one unlinked at once (Starlette's upload spool is an O_TMPFILE: a scan afterwards cannot see it)
STRACE_ARGS = ["-f", "-qq", "-ttt", "--seccomp-bpf", "-e",
               "trace=connect,bind,sendto,sendmsg,sendmmsg,execve,exit_group,openat,open,creat", "-e", "signal=none"]
_CALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(?:[\d.]+\s+)?(connect|bind|sendto|sendmsg|sendmmsg)\((.*)$")
_OPEN = re.compile(r'^(\d+)\s+(?:[\d.]+\s+)?(?:openat\([^,]+, |open\(|creat\()"([^"]*)"(?:, ([A-Z_|]+))?')
_LIFE = re.compile(r"^(\d+)\s+([\d.]+)\s+(execve|exit_group)\((.*)$")
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
_FAMILY = re.compile(r"sa_family=(AF_\w+)")
_UNIX_PATH = re.compile(r'sun_path=@?"([^"]*)"')
RESOLVER_SOCKETS = ("nscd", "resolve", "dbus")  # name look-ups that go through a local daemon


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


@dataclass
class EgressReport:
    counts: Counter[str] = field(default_factory=Counter)  # "connect AF_INET loopback" -> n
    outside: list[str] = field(default_factory=list)  # trace lines reaching beyond loopback
    dns: list[str] = field(default_factory=list)  # trace lines that are name look-ups (port 53 or a resolver daemon)
    pids: set[str] = field(default_factory=set)  # tasks (processes and threads) seen making any of these calls
    started: dict[str, tuple[float, str]] = field(default_factory=dict)  # pid -> (execve time, its arguments)
    ended: dict[str, float] = field(default_factory=dict)  # pid -> exit_group time
    created: list[tuple[str, str]] = field(default_factory=list)  # (path, trace line) of files opened to be created

    def created_under(self, *roots: str) -> list[str]:
        """Creations in or below these folders (an O_TMPFILE open names the folder itself)."""
        tops = [root.rstrip("/") for root in roots]
        return [line for path, line in self.created if any(path == t or path.startswith(t + "/") for t in tops)]

    def lifetimes(self, marker: str) -> list[float]:
        """Seconds from execve to exit_group of each process whose command line contains `marker`."""
        return [self.ended[p] - t for p, (t, args) in self.started.items() if marker in args and p in self.ended]

    def summary(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def _classify(report: EgressReport, call: str, args: str, line: str) -> None:
    found = [("AF_INET", port, addr) for port, addr in _INET.findall(args)]
    found += [("AF_INET6", port, addr) for port, addr in _INET6.findall(args)]
    for family, port, addr in found:
        where = "loopback" if _is_loopback(addr) else "outside"
        report.counts[f"{call} {family} {where}"] += 1
        if where == "outside":
            report.outside.append(line)
        if int(port) == 53:
            report.dns.append(line)
    if found:
        return
    families = _FAMILY.findall(args)
    if not families:  # a connected socket (send on TCP/UDP after connect): its connect was classified already
        report.counts[f"{call} (connected socket)"] += 1
        return
    for family in families:
        report.counts[f"{call} {family}"] += 1
    for path in _UNIX_PATH.findall(args):
        if any(name in path for name in RESOLVER_SOCKETS):
            report.dns.append(line)


def parse_trace(text: str) -> EgressReport:
    report = EgressReport()
    for line in text.splitlines():
        opened = _OPEN.match(line.strip())
        if opened:
            _pid, path, flags = opened.groups()
            if "creat(" in line or "O_CREAT" in (flags or "") or "O_TMPFILE" in (flags or ""):
                report.created.append((path, line.strip()))
            continue
        life = _LIFE.match(line.strip())
        if life:
            pid, at, call, args = life.groups()
            if call == "execve":
                report.started[pid] = (float(at), args)
            else:
                report.ended[pid] = float(at)
            continue
        match = _CALL.match(line.strip())
        if match:
            pid, call, args = match.groups()
            report.pids.add(pid)
            _classify(report, call, args, line.strip())
    return report
