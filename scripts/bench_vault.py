#!/usr/bin/env python3
"""Vault benchmark: unlock time, blob encrypt/decrypt throughput, peak memory vs. blob size.

    .venv/bin/python scripts/bench_vault.py                 # full: 1024 MB blob, RSS at 256 and 1024 MB
    .venv/bin/python scripts/bench_vault.py --quick         # smoke run (64 MB, 2 unlocks)
    .venv/bin/python scripts/bench_vault.py --size-mb 2048 --json out.json

What is measured (targets from issue 3):
* unlock — one Argon2id derivation with the production ``KdfParams`` + unwrapping a key (``crypto.unwrap_key``),
  median of ``--unlocks`` runs; target ≤ 1.5 s;
* encrypt / decrypt — ``Store.write_blob_from`` streaming from a generator (no plaintext buffer) into the
  vault folder (fsync'd, atomic), and ``Store.open_blob`` read to the end; MB/s of plaintext; target ≥ 200 MB/s.
  The file lives in a temporary folder (ciphertext only) on the same disk as ``--dir`` (default: the system
  temporary folder) and is removed afterwards;
* record latency — one compare-and-swap write of a 64 KB record (acknowledged = on disk) and one read;
* peak RSS — each blob size runs in a fresh subprocess that reports its ``ru_maxrss`` after writing and reading
  the blob; target: independent of blob size (the same within a few MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from workstation.vault import crypto  # noqa: E402
from workstation.vault.store import Store  # noqa: E402

MB = 1 << 20


class Source:
    """A readable stream of ``total`` bytes generated on the fly (one 1 MiB block reused)."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.block = os.urandom(MB)

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        if n <= len(self.block):
            return self.block[:n]
        return (self.block * (n // len(self.block) + 1))[:n]


def bench_unlock(runs: int) -> dict[str, float]:
    params = crypto.KdfParams()
    salt, key = os.urandom(16), crypto.random_key()
    kek = crypto.derive_key("lamp orbit cedar violin", salt, params)
    wrapped = crypto.wrap_key(kek, key, aad=b"user=bench|role=editor")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        k = crypto.derive_key("lamp orbit cedar violin", salt, params)
        assert crypto.unwrap_key(k, wrapped, aad=b"user=bench|role=editor") == key
        times.append(time.perf_counter() - start)
    return {"unlock_s_median": statistics.median(times), "unlock_s_max": max(times),
            "kdf_memory_mib": params.memory_kib / 1024, "kdf_iterations": params.iterations, "kdf_lanes": params.lanes}


def bench_session_unlock(folder: Path, runs: int, testimonies: int = 20) -> dict[str, float]:
    """``session.unlock`` end to end with the production KdfParams, on a vault with a few testimonies: the
    KDF, the slot, the catalog read that switches the store root on, the audit append and its anchor."""
    from workstation.domain.testimony import TestimonyMeta  # lazy: a script, only this measure needs the session
    from workstation.vault import session as vs  # lazy: as above

    root = Path(tempfile.mkdtemp(prefix="bench-unlock-", dir=folder)) / "vault"
    try:
        s = vs.create_vault(root, "bench", "lamp orbit cedar violin")
        for i in range(testimonies):
            s.create_testimony(TestimonyMeta(case_code=f"B-{i}"))
        s.lock()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            vs.unlock(root, "bench", "lamp orbit cedar violin").lock()
            times.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    return {"session_unlock_s_median": statistics.median(times), "session_unlock_s_max": max(times)}


def bench_access(folder: Path, testimonies: int = 200, tail: int = 1000, runs: int = 5) -> dict[str, float]:
    """What format 2's access control costs on a busier vault: an editor's audit append (line, head, anchor and
    the signed checkpoint), a translator's unlock with ``tail`` entries of others after the last checkpoint
    (read and signature-checked at every unlock), and removing a translator (re-keys every testimony)."""
    from workstation.domain.testimony import TestimonyMeta  # lazy: a script, only this measure needs the session
    from workstation.vault import session as vs  # lazy: as above

    phrase = "lamp orbit cedar violin"
    root = Path(tempfile.mkdtemp(prefix="bench-access-", dir=folder)) / "vault"
    try:
        edna = vs.create_vault(root, "edna", phrase)
        for name in ("tanya", "tom"):
            edna.add_user(name, "translator", phrase)
        for i in range(testimonies):
            edna.create_testimony(TestimonyMeta(case_code=f"A-{i}"))
        appends = []
        for _ in range(runs * 4):
            start = time.perf_counter()
            edna.record_audit("bench")
            appends.append(time.perf_counter() - start)
        tom = vs.unlock(root, "tom", phrase)
        for _ in range(tail):
            tom.record_audit("bench")
        tom.lock()
        unlocks = []
        for _ in range(runs):
            start = time.perf_counter()
            vs.unlock(root, "tanya", phrase).lock()
            unlocks.append(time.perf_counter() - start)
        start = time.perf_counter()
        edna.remove_user("tom")
        removal = time.perf_counter() - start
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    return {"access_testimonies": testimonies, "access_tail": tail,
            "editor_append_ms_median": 1000 * statistics.median(appends),
            "translator_unlock_s_median": statistics.median(unlocks), "remove_user_rekey_s": removal}


def peak_rss_mib() -> float:
    """Peak resident memory of this process: VmHWM (per address space, so a parent's peak before exec does not
    leak in, unlike ru_maxrss on Linux); ru_maxrss elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * (1024 if sys.platform == "darwin" else 1))


def evict_from_page_cache(folder: Path) -> None:
    """Drop the (clean, fsync'd) pages of the vault's files so the read comes from the disk, not from RAM."""
    for path in folder.rglob("*"):
        if path.is_file() and hasattr(os, "posix_fadvise"):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def bench_blob(size_mb: int, folder: Path, *, warm: bool = False) -> dict[str, float]:
    """Write then read one blob; runs in its own process so the peak RSS belongs to this size only."""
    root = Path(tempfile.mkdtemp(prefix="bench-vault-", dir=folder))
    try:
        store, key, total = Store(root), crypto.random_key(), size_mb * MB
        rss_start = peak_rss_mib()
        start = time.perf_counter()
        store.write_blob_from(key, "bench-blob", Source(total))
        encrypt_s = time.perf_counter() - start
        if not warm:
            evict_from_page_cache(root)
        start, got = time.perf_counter(), 0
        for chunk in store.open_blob(key, "bench-blob"):
            got += len(chunk)
        decrypt_s = time.perf_counter() - start
        assert got == total
        return {"size_mb": size_mb, "encrypt_mb_s": size_mb / encrypt_s, "decrypt_mb_s": size_mb / decrypt_s,
                "encrypt_s": encrypt_s, "decrypt_s": decrypt_s, "rss_before_mib": rss_start,
                "peak_rss_mib": peak_rss_mib()}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_records(folder: Path, n: int = 50, size_kb: int = 64) -> dict[str, float]:
    """Latency of one compare-and-swap record write (fsync'd, acknowledged) and of one authenticated read."""
    root = Path(tempfile.mkdtemp(prefix="bench-vault-", dir=folder))
    try:
        store, key, data = Store(root), crypto.random_key(), os.urandom(size_kb * 1024)
        writes, reads, version = [], [], 0
        for _ in range(n):
            start = time.perf_counter()
            version = store.write_record(key, "bench-record", data, expected_version=version)
            writes.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.read_record(key, "bench-record")
            reads.append(time.perf_counter() - start)
        return {"record_kb": size_kb, "record_write_ms_median": 1000 * statistics.median(writes),
                "record_read_ms_median": 1000 * statistics.median(reads)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def blob_in_subprocess(size_mb: int, folder: Path, warm: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--_blob", str(size_mb), "--dir", str(folder),
                          *(["--warm"] if warm else [])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024, help="large blob size (default 1024)")
    ap.add_argument("--small-mb", type=int, default=None, help="second size for the RSS comparison (default size/4)")
    ap.add_argument("--unlocks", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smoke run: 64 MB and 16 MB blobs, 2 unlocks")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()), help="where the temporary vault goes")
    ap.add_argument("--warm", action="store_true", help="read the blob back from the page cache (default: from disk)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ap.add_argument("--_blob", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._blob is not None:
        print(json.dumps(bench_blob(args._blob, args.dir, warm=args.warm)))
        return 0
    if args.quick:
        args.size_mb, args.unlocks = 64, 2
    small = args.small_mb or max(1, args.size_mb // 4)

    figures: dict[str, object] = {
        "machine": f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
                   f"Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, "scripts/bench_vault.py", *sys.argv[1:]]),
    }
    large, smaller = blob_in_subprocess(args.size_mb, args.dir, args.warm), blob_in_subprocess(small, args.dir, args.warm)
    figures.update(bench_unlock(args.unlocks))
    figures.update(bench_session_unlock(args.dir, args.unlocks))
    figures.update(bench_records(args.dir, n=10 if args.quick else 50))
    figures.update(bench_access(args.dir, *((20, 100) if args.quick else (200, 1000))))
    figures["blob_large"], figures["blob_small"] = large, smaller
    rss_delta = large["peak_rss_mib"] - smaller["peak_rss_mib"]
    figures["rss_difference_mib"] = rss_delta

    print(f"machine: {figures['machine']}")
    print(f"unlock (Argon2id {figures['kdf_memory_mib']:.0f} MiB, t={figures['kdf_iterations']}, "
          f"p={figures['kdf_lanes']} + unwrap): median {figures['unlock_s_median']:.3f} s, "
          f"max {figures['unlock_s_max']:.3f} s   [target ≤ 1.5 s]")
    print(f"session unlock (vs.unlock end to end: KDF, slot, catalog, store root, audit append + anchor): "
          f"median {figures['session_unlock_s_median']:.3f} s, max {figures['session_unlock_s_max']:.3f} s   "
          "[target ≤ 1.5 s]")
    print(f"record ({figures['record_kb']} KB): write {figures['record_write_ms_median']:.1f} ms (fsync'd), "
          f"read {figures['record_read_ms_median']:.1f} ms (medians)")
    print(f"format 2 with {figures['access_testimonies']} testimonies: editor's audit append (with its signed "
          f"checkpoint) {figures['editor_append_ms_median']:.1f} ms; translator unlock with "
          f"{figures['access_tail']} entries after the checkpoint {figures['translator_unlock_s_median']:.3f} s "
          f"[target ≤ 1.5 s]; removing a translator (re-keys every testimony) {figures['remove_user_rekey_s']:.2f} s")
    for label, r in (("large", large), ("small", smaller)):
        print(f"blob {r['size_mb']:>5} MB ({label}): encrypt {r['encrypt_mb_s']:7.0f} MB/s, decrypt "
              f"{r['decrypt_mb_s']:7.0f} MB/s, peak RSS {r['peak_rss_mib']:.0f} MiB   [target ≥ 200 MB/s]")
    print(f"peak RSS difference {args.size_mb} MB vs {small} MB blob: {rss_delta:+.1f} MiB   "
          "[target: independent of blob size]")
    ok = (figures["unlock_s_median"] <= 1.5 and figures["session_unlock_s_median"] <= 1.5
          and float(figures["translator_unlock_s_median"]) <= 1.5 and min(large["encrypt_mb_s"], large["decrypt_mb_s"]) >= 200
          and abs(rss_delta) < 32)
    print("targets met" if ok else "TARGETS NOT MET")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
