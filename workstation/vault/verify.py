"""Verification of a whole vault: the audit chain, the key slots, the catalog, the store, the glossary, every
testimony's records and every sealed original against the sha256 recorded at intake.

Nothing is repaired; each problem becomes one line a person can act on (:class:`VerifyReport`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from workstation.domain.glossary import Glossary
from workstation.platform.errors import WorkstationError
from workstation.vault.accounts import SlotFiles
from workstation.vault.catalog import Catalog
from workstation.vault.records import Entry, Records, entry_key, record_kinds, rid


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was checked: testimonies, recordings, ...

    @property
    def ok(self) -> bool:
        return not self.problems


def check_vault(report: VerifyReport, catalog: Catalog, records: Records, slots: SlotFiles,
                load_glossary: Callable[[], Glossary]) -> bool:
    """Add every problem found to ``report``; False when the catalog could not be read (the walk stopped there)."""
    report.problems.extend(f"Audit log: {p}" for p in catalog.audit_log().verify())
    for path, slot in slots.load_all():
        if slot is None:
            report.problems.append(f"Key slot {path.name}: damaged, cannot be read.")
        elif catalog.epoch not in slot.masters:
            report.problems.append(f"Key slot of {slot.user}: does not hold the vault's current key.")
    try:
        data = catalog.current()
    except WorkstationError as exc:
        report.problems.append(f"Catalog: {exc}")
        return False
    report.problems.extend(f"Store: {p}" for p in records.store.verify())
    try:
        load_glossary()
    except WorkstationError as exc:
        report.problems.append(f"Glossary: {exc}")
    counts = {"testimonies": 0, "recordings": 0, "records": 0}
    for tid, entry in data["testimonies"].items():
        counts["testimonies"] += 1
        report.problems.extend(_check_testimony(records, tid, entry, counts))
    report.checked = counts
    return True


def _check_testimony(records: Records, tid: str, entry: Entry, counts: dict[str, int]) -> list[str]:
    case, key, problems = entry["case"], entry_key(entry), []
    for kind in record_kinds(entry):
        counts["records"] += 1
        try:
            found = records.read(key, rid(tid, kind), f"{kind} record of {case}")
            if found is None and kind == "testimony":
                problems.append(f"Testimony {case}: its record is missing.")
        except WorkstationError as exc:
            problems.append(f"Testimony {case}: {exc}")
    try:
        info = records.recording_info(tid, entry)
    except WorkstationError:
        info = None
    if info is None:
        return problems
    counts["recordings"] += 1
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in records.iter_original(tid, entry):
            digest.update(chunk)
            size += len(chunk)
    except WorkstationError as exc:
        problems.append(f"Testimony {case}: {exc}")
        return problems
    if digest.hexdigest() != info.sha256 or size != info.size:
        problems.append(
            f"Testimony {case}: the sealed recording does not match the sha256 recorded at intake "
            f"({info.sha256[:16]}…)."
        )
    return problems
