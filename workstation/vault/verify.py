"""Verification of a whole vault: the audit chain, the key slots, the catalog, the store, the glossary, every
testimony's records and every sealed original against the sha256 recorded at intake.

Nothing is repaired; each problem becomes one line a person can act on (:class:`VerifyReport`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workstation.domain import testimony as tm
from workstation.domain.glossary import Glossary
from workstation.domain.testimony import Status, Testimony, content_hash
from workstation.platform.errors import WorkstationError
from workstation.vault import checkpoint, signing
from workstation.vault.accounts import SlotFiles, skeleton
from workstation.vault.audit import GENESIS, AuditEntry, AuditLog, with_removals
from workstation.vault.catalog import Catalog, CatalogData, listed
from workstation.vault.crypto import CryptoError
from workstation.vault.layout import unb64
from workstation.vault.records import Entry, Records, part_count, part_label, record_kinds, record_ref

AUDIT_ANCHOR = "audit"  # where the session anchors the audit head in the store index (session.AUDIT_ANCHOR)


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was checked: testimonies, recordings, ...

    @property
    def ok(self) -> bool:
        return not self.problems


Trusted = dict[str, dict[str, Any]]  # account name -> account-list entry whose certificate chains to the root


def check_vault(report: VerifyReport, catalog: Catalog, records: Records, slots: SlotFiles,
                load_glossary: Callable[[], Glossary], root: tuple[str, bytes] | None = None) -> bool:
    """Add every problem found to ``report``; False when the catalog could not be read (the walk stopped there).

    ``root`` (vault format 2: the root editor pinned in the verifying account's slot) turns on the signature
    checks: account certificates, every audit entry's signature, every approval's signature."""
    store_problems = records.store.verify()  # first: a failing store root makes every later read fail
    try:
        anchor = records.store.anchor(AUDIT_ANCHOR)
    except CryptoError:
        anchor = None
    try:
        data = catalog.current()
    except WorkstationError as exc:
        report.problems.extend(f"Audit log: {p}" for p in catalog.audit_log().verify(anchor))
        report.problems.extend(f"Store: {p}" for p in store_problems)
        report.problems.append(f"Catalog: {exc}")
        return False
    trusted = _trusted(data, root)
    signers = None if trusted is None else {u: unb64(e["ed25519"]) for u, e in trusted.items()}
    root_user = root[0] if root is not None else ""
    report.problems.extend(f"Audit log: {p}" for p in catalog.audit_log().verify(anchor, signers, root_user))
    report.problems.extend(_check_slots(slots, data, catalog.epoch))
    if root is not None and trusted is not None:
        report.problems.extend(_account_problems(data.get("accounts", {}), root, trusted))
        report.problems.extend(checkpoint_problems(catalog, data, trusted, slots))
    report.problems.extend(f"Store: {p}" for p in store_problems)
    try:
        load_glossary()
    except WorkstationError as exc:
        report.problems.append(f"Glossary: {exc}")
    counts = {"testimonies": 0, "recordings": 0, "records": 0}
    events = approval_history(catalog.audit_log(), trusted, root_user) if trusted is not None else None
    recorded = recorded_versions(catalog.audit_log().signed_entries(signers)) if signers is not None else {}
    for tid, entry in data["testimonies"].items():
        counts["testimonies"] += 1
        report.problems.extend(_check_testimony(records, tid, entry, counts, trusted, events, recorded))
    report.checked = counts
    return True


def _check_slots(slots: SlotFiles, catalog: CatalogData, epoch: str) -> list[str]:
    """Every slot file against the account list in the catalog: planted, duplicated, look-alike, keyless."""
    problems, names = [], []
    for path, slot in slots.load_all():
        if slot is None:
            problems.append(f"Key slot {path.name}: damaged, cannot be read.")
            continue
        names.append(slot.user)
        if "accounts" in catalog and not listed(catalog, slot):
            problems.append(
                f"Key slot {path.name} (user {slot.user!r}, role {slot.role}) is not in the vault's account list: "
                "planted or left over (tampering?). It receives no keys; remove the file after reporting it."
            )
        elif epoch not in slot.masters:
            problems.append(f"Key slot of {slot.user}: does not hold the vault's current key.")
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"Key slots: {names.count(name)} slot files claim the account {name!r} (a planted duplicate?).")
    shapes: dict[str, str] = {}
    for name in sorted(set(names) | set(catalog.get("accounts", {}))):
        other = shapes.setdefault(skeleton(name), name)
        if other != name:
            problems.append(f"Accounts {other!r} and {name!r} look the same (letters from another alphabet).")
    for name in sorted(set(catalog.get("accounts", {})) - set(names)):
        problems.append(f"The account {name!r} in the account list has no key slot file (deleted?).")
    return problems


def _account_problems(listed_accounts: dict[str, Any], root: tuple[str, bytes], trusted: Trusted) -> list[str]:
    problems = []
    for name in signing.untrusted_accounts(listed_accounts, root):
        if signing.pending_ok(name, listed_accounts[name], trusted):
            problems.append(f"Account list: {name!r} has no certified signing key yet (the vault was upgraded to "
                            "format 2): that account unlocks once, then an editor's next unlock certifies it.")
        else:
            problems.append(f"Account list: the entry of {name!r} is not signed by an editor of this vault (its "
                            "certificate does not chain to the first editor): it was added or changed outside the "
                            "program (tampering?).")
    return problems


def checkpoint_problems(catalog: Catalog, data: CatalogData, trusted: Trusted, slots: SlotFiles) -> list[str]:
    """The log against the editors' signed checkpoint, and the account list against the removals it carries."""
    log = catalog.audit_log()
    editors = {u: unb64(e["ed25519"]) for u, e in trusted.items() if e.get("role") == "editor" and e.get("ed25519")}
    current = {u: k for u, k in editors.items() if u in data.get("accounts", {})}  # who may sign a checkpoint
    signed = log.signed_entries({u: unb64(e["ed25519"]) for u, e in trusted.items() if e.get("ed25519")})
    hashes = {e.seq: e.hash for e in log.entries(strict=False)}
    try:
        cp = checkpoint.read(catalog.root)
    except checkpoint.CheckpointError as exc:
        return [f"Audit log: {exc}"]
    problems = [f"Audit log: {p}" for p in checkpoint.problems(cp, signed, hashes, max(hashes, default=0), editors,
                                                               current)]
    state = checkpoint.AccountState.of(None if cp is None or checkpoint.signature_problem(cp, current) else cp)
    state.follow(signed, editors)
    problems.extend(f"Account list: {name!r} was removed by an editor and has been put back (tampering): that "
                    "account cannot unlock; remove it again." for name in sorted(state.removed & set(data.get("accounts", {}))))
    for path, slot in slots.load_all():
        digest = state.slots.get(slot.user) if slot is not None else None
        if slot is not None and digest is not None and digest != checkpoint.salt_digest(slot.salt):
            problems.append(f"Key slot {path.name} of {slot.user!r} is older than that account's last passphrase "
                            "change (put back from an older copy: an old passphrase would open it). It is refused "
                            "at unlock; remove the file after reporting it.")
    return problems


def _trusted(data: CatalogData, root: tuple[str, bytes] | None) -> Trusted | None:
    if root is None:
        return None
    return signing.trusted_keys({**data.get("former", {}), **data.get("accounts", {})}, root)


def _check_testimony(records: Records, tid: str, entry: Entry, counts: dict[str, int],
                     trusted: Trusted | None = None, events: ApprovalHistory | None = None,
                     recorded: dict[tuple[str, str], int] | None = None) -> list[str]:
    case, problems = entry["case"], []
    try:
        key = records.keys_of(tid, entry)
    except WorkstationError as exc:
        return [f"Testimony {case}: {exc}"]
    for kind in record_kinds(entry):
        counts["records"] += 1
        try:
            found = records.read(key, record_ref(tid, entry, kind))  # signed records: checked there
            if found is None and kind == "testimony":
                problems.append(f"Testimony {case}: its record is missing.")
            signed_version = (recorded or {}).get((case, kind), 0)
            if found is not None and found[1] < signed_version:
                problems.append(f"Testimony {case}: its {kind} record is version {found[1]}, but the signed history "
                                f"records version {signed_version}: an older copy was put back (with its index "
                                "entry). Restore it from a backup.")
        except WorkstationError as exc:
            problems.append(f"Testimony {case}: {exc}")
    problems.extend(_check_approval(records, tid, entry, trusted, events))
    for part in range(1, max(1, part_count(entry)) + 1):  # every part of the interview, each on its own
        problems.extend(_check_recording(records, tid, entry, part, counts))
    return problems


def _check_recording(records: Records, tid: str, entry: Entry, part: int, counts: dict[str, int]) -> list[str]:
    """One sealed original against the sha256 recorded at intake (and in the catalog)."""
    case, problems = entry["case"], []
    name = part_label(case, part)
    try:
        info = records.recording_info(tid, entry, part)
    except WorkstationError as exc:
        if part <= part_count(entry):
            problems.append(f"Testimony {case}: {exc}")
        info = None
    if info is None:
        return problems
    sealed = entry.get("original") if part == 1 else (entry.get("parts") or [])[part - 2]
    if sealed and sealed.get("sha256") != info.sha256:
        problems.append(f"Testimony {name}: its recording information was replaced (the sha256 differs from the "
                        "one recorded in the catalog at intake).")
    counts["recordings"] += 1
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in records.iter_original(tid, entry, part):
            digest.update(chunk)
            size += len(chunk)
    except WorkstationError as exc:
        problems.append(f"Testimony {case}: {exc}")
        return problems
    if digest.hexdigest() != info.sha256 or size != info.size:
        problems.append(
            f"Testimony {name}: the sealed recording does not match the sha256 recorded at intake "
            f"({info.sha256[:16]}…)."
        )
    return problems


def _check_approval(records: Records, tid: str, entry: Entry, trusted: Trusted | None,
                    events: ApprovalHistory | None = None) -> list[str]:
    """An approved testimony must still be what was approved (content_hash covers everything exported)."""
    try:
        t, _version = records.load_testimony(tid, entry)
    except WorkstationError:
        return []  # reported with the records above
    if t.status is not Status.APPROVED:
        return []
    if t.approval is None or content_hash(t) != t.approval.content_hash:
        return [f"Testimony {entry['case']}: marked approved, but its content (text, times, speaker names, English "
                "routes or metadata) no longer matches what was approved."]
    problem = None if trusted is None else approval_signature_problem(t, trusted, events)
    return [f"Testimony {entry['case']}: {problem}"] if problem else []


APPROVAL_EVENTS = ("approval_hash", "unapproved")  # the signed history of a case's approval, in log order


def recorded_versions(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], int]:
    """(case code, record kind) -> the highest version the signed history records of it since the case was last
    created: a record whose stored version is lower was put back from an older copy together with its index
    entry (which anyone holding the store-root key can re-authenticate; the signed entries nobody can)."""
    out: dict[tuple[str, str], int] = {}
    for e in entries:
        if not e.case_code:
            continue
        if e.action == "testimony_created":
            out = {k: v for k, v in out.items() if k[0] != e.case_code}
            continue
        version, name = e.details.get("version"), e.details.get("record")
        if isinstance(version, int) and not isinstance(version, bool):
            kind = f"extra:{name}" if e.action == "record_saved" and isinstance(name, str) else "testimony"
            out[(e.case_code, kind)] = max(out.get((e.case_code, kind), 0), version)
    return out


@dataclass(frozen=True)
class ApprovalHistory:
    """What the audit log says of approvals: each case's last approval act, and where the format-1 history
    sealed by the upgrade ends (0: none)."""
    last: dict[str, AuditEntry]
    sealed_until: int = 0


def approval_history(log: AuditLog, trusted: Trusted, root_user: str) -> ApprovalHistory:
    """The log's approval acts: entries whose signatures verify, and unsigned ones only inside a sealed format-1
    history. ``sealed_until`` is the seq of the root editor's signed ``vault_upgraded`` entry when everything
    before it is an intact, wholly unsigned history (what format 1 wrote; a vault that was never format 1 has
    signed entries there) chained into that signature: approvals recorded there were carried over by the upgrade
    (trust on first use, like the account list)."""
    signers = {u: unb64(e["ed25519"]) for u, e in trusted.items() if e.get("ed25519")}
    signed = log.signed_entries(signers)
    upgrade = next((e for e in signed if e.action == "vault_upgraded" and e.signer == root_user), None)
    sealed = _sealed_prefix(log, upgrade) if upgrade is not None else []
    return ApprovalHistory(last_approval_events(sorted(sealed + signed, key=lambda e: e.seq)),
                           upgrade.seq if sealed and upgrade is not None else 0)


def _sealed_prefix(log: AuditLog, upgrade: AuditEntry) -> list[AuditEntry]:
    """The entries before the upgrade's signed entry if they are all unsigned and chained into it, else []."""
    before, prev = [], GENESIS
    try:
        for e in log.entries():  # strict: stops at the first entry out of place
            if e.seq >= upgrade.seq:
                break
            if e.signature or e.signer:
                return []
            before.append(e)
            prev = e.hash
    except WorkstationError:
        return []
    return before if prev == upgrade.prev_hash else []


def last_approval_events(entries: Iterable[AuditEntry]) -> dict[str, AuditEntry]:
    """Case code -> the last entry that approved (``approval_hash``) or withdrew (``unapproved``) its approval."""
    return {e.case_code: e for e, late in with_removals(entries) if e.action in APPROVAL_EVENTS and e.case_code
            and not late}  # an approval act signed by a removed account does not count


def approval_history_problem(t: Testimony, last: AuditEntry | None) -> str | None:
    """An approval must be the last approval act in the signed history: a copy of an approved record kept by
    someone who can read it and put back after the editor withdrew the approval is not current."""
    approval = t.approval
    if approval is None:
        return None
    if last is None or last.action != "approval_hash" or last.signer != approval.user \
            or last.details.get("content_hash") != approval.content_hash:
        return (f"its approval by {approval.user!r} is not the last approval act in the signed history (it was "
                "withdrawn or replaced later, and an older approved copy was put back?). An editor re-approves it "
                "after checking it.")
    return None


def approval_signature_problem(t: Testimony, trusted: Trusted, events: ApprovalHistory | None = None) -> str | None:
    """Why an approval is not the signed act of an editor in the (trusted) account list, or None. With the log's
    ``events``, it must also be the case's current approval act (signed, or carried over from format 1)."""
    approval = t.approval
    last = events.last.get(t.case_code) if events is not None else None
    if approval is None:
        return "marked approved, but no approval is recorded."
    account = trusted.get(approval.user)
    if account is None or account.get("role") != "editor":
        return f"its approval names {approval.user!r}, who is not an editor in the vault's account list."
    if not approval.signature and events is not None and _carried_over(approval, last, events.sealed_until):
        return None
    if not approval.signature:
        return (f"its approval in the name of {approval.user!r} is not signed: it was not made by that editor "
                "(written outside the program?). An editor re-approves it after checking it.")
    if approval.ed25519 != account.get("ed25519") or not signing.signature_ok(
            unb64(account["ed25519"]), signing.approval_payload(t.case_code, approval.user, approval.at,
                                                               approval.content_hash), approval.signature):
        return f"the signature on its approval by {approval.user!r} does not verify: the approval was forged."
    return approval_history_problem(t, last) if events is not None else None


def _carried_over(approval: tm.Approval, last: AuditEntry | None, sealed_until: int) -> bool:
    """A format-1 approval that is still the case's last approval act, recorded by that editor in the history
    the upgrade sealed (unsigned, before the signed ``vault_upgraded`` entry, with the same content hash)."""
    return (last is not None and not last.signer and 0 < last.seq < sealed_until and last.action == "approval_hash"
            and last.user == approval.user and last.details.get("content_hash") == approval.content_hash)
