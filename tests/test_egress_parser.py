"""The strace reader of the egress test: it must see what leaves, and not cry wolf at loopback."""

from __future__ import annotations

from tests.egress import parse_trace

TRACE = """\
101 bind(3, {sa_family=AF_INET, sin_port=htons(8501), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
101 sendto(7, "HTTP/1.1 200 OK"..., 120, MSG_NOSIGNAL, NULL, 0) = 120
102 connect(5, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
102 connect(6, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.2")}, 16) = -1 ENETUNREACH (Network is unreachable)
102 sendto(6, "\\x12"..., 40, 0, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH (Network is unreachable)
103 bind(4, {sa_family=AF_INET, sin_port=htons(5004), sin_addr=inet_addr("0.0.0.0")}, 16 <unfinished ...>
103 <... bind resumed>) = 0
104 connect(8, {sa_family=AF_INET6, sin6_port=htons(8501), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0
104 sendmsg(9, {msg_name={sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, msg_namelen=12}, 0) = 20
105 1764629100.250000 execve("/usr/bin/python3", ["/usr/bin/python3", "-m", "workstation.speech.sealed_worker"], 0x7ff /* 9 vars */) = 0
105 1764629112.750000 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0
105 1764629113.000000 exit_group(0) = ?
106 1764629114.000000 openat(AT_FDCWD, "/srv/tmp", O_RDWR|O_EXCL|O_CLOEXEC|O_TMPFILE, 0600) = 7
106 1764629114.100000 openat(AT_FDCWD, "/srv/home/.cache/x.json", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 8
106 1764629114.200000 openat(AT_FDCWD, "/srv/home/models/model.bin", O_RDONLY|O_CLOEXEC) = 9
"""


def test_outside_addresses_and_dns_are_found_whatever_the_kernel_answered() -> None:
    report = parse_trace(TRACE)
    assert len(report.outside) == 3  # 10.0.0.2:53 (refused, still counted), 2001:db8::1, bind on 0.0.0.0
    assert len(report.dns) == 3  # the port-53 connects (loopback resolvers too) and the nscd socket
    assert report.counts["bind AF_INET loopback"] == 1 and report.counts["connect AF_INET6 loopback"] == 1
    assert report.counts["sendto (connected socket)"] == 1 and report.counts["sendmsg AF_NETLINK"] == 1
    assert report.pids == {"101", "102", "103", "104", "105"}  # (opens are not network calls)
    assert len(report.created_under("/srv/tmp")) == 1  # O_TMPFILE names the directory itself
    assert len(report.created_under("/srv")) == 2 and len(report.created_under("/srv/home")) == 1
    assert report.lifetimes("workstation.speech.sealed_worker") == [12.75]


def test_a_loopback_only_trace_is_clean() -> None:
    clean = "\n".join(line for line in TRACE.splitlines() if line.startswith(("101", "104")))
    report = parse_trace(clean)
    assert report.outside == [] and report.dns == []
