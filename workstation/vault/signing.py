"""Ed25519 signatures (vault format 2, part built): account certificates rooted in the first editor, signed
audit entries, signed approvals and signed records (the envelope every record carries inside its sealed plaintext). ``docs/VAULT-FORMAT.md`` ("Format 2") has the exact payloads.

The account list inside the catalog is readable and writable by anyone holding the master key, so its entries
are *certificates*: each names an account (user, role, X25519 and Ed25519 public keys) and carries the Ed25519
signature of the editor who added it. The **root** is the vault's first editor, whose name and Ed25519 key are
pinned in every format-2 key slot's authenticated data (a slot cannot be edited without its passphrase). An
entry counts (:func:`trusted_keys`) only when its signature chains back to that root through editors; a
translator who rewrites the list with the master key cannot make an entry that chains, so she cannot add an
account, change a role or replace a key in a way that verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["sign", "signature_ok", "raw_public", "raw_private", "account_payload", "certify", "trusted_keys",
           "untrusted_accounts", "fingerprint", "approval_payload", "sign_entry", "entry_problem", "SignedRecord",
           "record_payload", "seal_record", "open_record", "record_signature_ok"]


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload)).decode("ascii")


def signature_ok(public: bytes, payload: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is ``public``'s Ed25519 signature of ``payload``; never raises."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(signature, validate=True), payload)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def account_payload(user: str, entry: dict[str, Any]) -> bytes:
    """What an account certificate signs: ``"tw-account|"`` + canonical JSON of name, role and both keys."""
    identity = {"user": user, "role": entry.get("role"), "public_key": entry.get("public_key"),
                "ed25519": entry.get("ed25519")}
    return b"tw-account|" + _canonical(identity)


def certify(user: str, entry: dict[str, Any], signer: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """``entry`` (role, public_key, ed25519) signed by the editor ``signer``."""
    return {**{k: entry[k] for k in ("role", "public_key", "ed25519")}, "signer": signer,
            "sig": sign(key, account_payload(user, entry))}


def pending_payload(user: str, role: str, x25519: str) -> bytes:
    """What an upgrading editor signs for an account that has no signing key yet (vault upgrade): its name,
    role and X25519 key, so the certificate made when it gets one cannot change the role or the key."""
    return b"tw-account-pending|" + _canonical({"user": user, "role": role, "public_key": x25519})


def _unb64(text: Any) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (ValueError, TypeError):
        return b""


def trusted_keys(accounts: dict[str, Any], root: tuple[str, bytes]) -> dict[str, dict[str, Any]]:
    """The account-list entries whose certificate chains back to ``root`` (name, Ed25519 key) through editors.

    The root's own entry must carry the root key and be signed by it; any other entry must be signed by an
    editor whose entry is trusted. Computed to a fixed point, so the order of entries does not matter."""
    root_name, root_key = root
    trusted: dict[str, dict[str, Any]] = {}
    changed = True
    while changed:
        changed = False
        for user, entry in accounts.items():
            if user in trusted or not isinstance(entry, dict):
                continue
            if user == root_name:
                ok = _unb64(entry.get("ed25519")) == root_key and entry.get("signer") == root_name
                signer_key = root_key
            else:
                by = trusted.get(str(entry.get("signer")))
                ok = by is not None and by.get("role") == "editor"
                signer_key = _unb64(by.get("ed25519")) if by else b""
            if ok and signature_ok(signer_key, account_payload(user, entry), str(entry.get("sig", ""))):
                trusted[user] = entry
                changed = True
    return trusted


def pending_ok(user: str, entry: dict[str, Any], trusted: dict[str, dict[str, Any]]) -> bool:
    """Whether an account converted from format 1 carries a valid pending certificate (its name, role and X25519
    key signed by a trusted editor at the upgrade): it receives testimony keys and an editor certifies its new
    signing key at their next unlock (no role or key can be changed on the way)."""
    by = trusted.get(str(entry.get("pending_signer")))
    if by is None or by.get("role") != "editor" or "pending" not in entry:
        return False
    payload = pending_payload(user, str(entry.get("role")), str(entry.get("public_key")))
    return signature_ok(_unb64(by.get("ed25519")), payload, str(entry["pending"]))


def untrusted_accounts(accounts: dict[str, Any], root: tuple[str, bytes]) -> list[str]:
    trusted = trusted_keys(accounts, root)
    return sorted(set(accounts) - set(trusted))


def fingerprint(user: str, role: str, x25519: bytes, ed25519: bytes) -> str:
    """First 16 bytes of SHA-256("tw-account|" name "|" role "|" X25519 "|" Ed25519), as hex groups of 4."""
    digest = hashlib.sha256(b"tw-account|" + user.encode() + b"|" + role.encode() + b"|" + x25519 + b"|" + ed25519)
    text = digest.digest()[:16].hex()
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def approval_payload(case_code: str, user: str, at: str, content_hash: str) -> bytes:
    """What an approving editor signs: the case code, who, when, and the canonical content hash."""
    return f"tw-approval|{case_code}|{user}|{at}|{content_hash}".encode()


# --- catalog entries: who created a testimony, under which case code, with which key -------------------------
# Everyone holding the master key can rewrite the catalog, so a testimony's entry is signed by its creator: its
# id, case code, owner, creation time and a commitment to its key. Without it an interviewer could wrap a key of
# his own to every reader of another's new testimony (and read what is sealed under it next), or swap two
# entries' case codes so that a shred destroys the wrong testimony.


def key_commitment(tid: str, key: bytes) -> str:
    """HMAC-SHA256(testimony key, "tw-key-commit|" tid): names the key without revealing it."""
    return base64.b64encode(hmac.new(key, b"tw-key-commit|" + tid.encode(), hashlib.sha256).digest()).decode()


def _entry_payload(tid: str, entry: dict[str, Any], commit: str) -> bytes:
    fields = {"tid": tid, "case": entry.get("case"), "owner": entry.get("owner"), "created": entry.get("created"),
              "commit": commit}
    return b"tw-entry|" + _canonical(fields)


def sign_entry(tid: str, entry: dict[str, Any], key: bytes, by: str, signer: Ed25519PrivateKey) -> dict[str, str]:
    """The ``cert`` of a catalog entry: signed by ``by`` (its creator, or the editor upgrading the vault)."""
    commit = key_commitment(tid, key)
    return {"by": by, "commit": commit, "sig": sign(signer, _entry_payload(tid, entry, commit))}


def entry_problem(tid: str, entry: dict[str, Any], key: bytes, trusted: dict[str, dict[str, Any]]) -> str | None:
    """Why a format-2 catalog entry (or the key this account unwrapped from it) cannot be trusted, or None.

    The signer must be a trusted account that is the entry's owner or an editor; the signature covers the case
    code, owner and creation time; the unwrapped key must be the one committed to."""
    cert = entry.get("cert")
    if not isinstance(cert, dict):
        return "its catalog entry is not signed by its creator (written outside the program?)"
    by = trusted.get(str(cert.get("by")))
    if by is None or (by.get("role") != "editor" and cert.get("by") != entry.get("owner")):
        return f"its catalog entry is signed by {cert.get('by')!r}, who is neither its interviewer nor an editor"
    if not signature_ok(_unb64(by.get("ed25519")), _entry_payload(tid, entry, str(cert.get("commit"))),
                        str(cert.get("sig", ""))):
        return "its catalog entry's signature does not verify: its case code, owner or date was changed"
    if not hmac.compare_digest(key_commitment(tid, key), str(cert.get("commit"))):
        return "the key wrapped to your account is not the testimony's own key: a key was substituted"
    return None


# --- proof that a converting account holds the X25519 key its pending certificate names ---------------------
# After the upgrade, an account writes its new Ed25519 key into the (shared) account list itself. Anyone holding
# the master key could write a key of their own there instead, so the account adds a MAC that only the holder of
# its X25519 private key (or of the upgrading editor's) can make: keyed by their X25519 shared secret.


def possession_proof(user: str, ed25519_b64: str, shared_secret: bytes) -> str:
    key = hashlib.sha256(b"tw-possession-key|" + shared_secret).digest()
    return base64.b64encode(hmac.new(key, f"tw-possession|{user}|{ed25519_b64}".encode(), hashlib.sha256).digest()).decode()


def possession_ok(user: str, entry: dict[str, Any], shared_secret: bytes) -> bool:
    expected = possession_proof(user, str(entry.get("ed25519", "")), shared_secret)
    return hmac.compare_digest(expected, str(entry.get("possession", "")))


# --- signed records: who wrote a record, bound to its id, kind, version and body -----------------------------
# A reader of a testimony holds its key by design, so the key cannot say who wrote a record. Each record's sealed
# plaintext is an envelope: a magic line, then the writer's name and signature (canonical JSON, one line), then
# the body exactly as before. The signer's name is encrypted with the rest: nothing new is visible on disk.

RECORD_MAGIC = b"tw-signed-record-1\n"


@dataclass(frozen=True)
class SignedRecord:
    """A record's plaintext taken apart: the body (JSON bytes) and, when signed, the writer and signature."""

    body: bytes
    by: str = ""  # "" : unsigned (written by the version before signed records, or outside the program)
    sig: str = ""


def record_payload(record_id: str, kind: str, version: int, body: bytes, by: str) -> bytes:
    """What a record's writer signs: ``"tw-record|"`` + canonical JSON of the writer, the record id, its kind label
    ("testimony", "recording-info:2", "extra:redactions", "glossary"), its new version and the SHA-256 of its body."""
    fields = {"by": by, "id": record_id, "kind": kind, "version": version,
              "sha256": hashlib.sha256(body).hexdigest()}
    return b"tw-record|" + _canonical(fields)


def seal_record(body: bytes, record_id: str, kind: str, version: int, by: str, key: Ed25519PrivateKey) -> bytes:
    """The plaintext of a signed record: magic line, ``{"by", "sig"}`` line, body."""
    head = _canonical({"by": by, "sig": sign(key, record_payload(record_id, kind, version, body, by))})
    return RECORD_MAGIC + head + b"\n" + body


def open_record(plaintext: bytes) -> SignedRecord:
    """Take a record's plaintext apart; an unsigned one (plain JSON) is all body. ValueError when an envelope is
    malformed (it authenticated, so it was written that way)."""
    if not plaintext.startswith(RECORD_MAGIC):
        return SignedRecord(plaintext)
    head, newline, body = plaintext[len(RECORD_MAGIC):].partition(b"\n")
    try:
        fields = json.loads(head) if newline else None
    except RecursionError as exc:
        raise ValueError("a signed record's envelope is malformed") from exc
    if not isinstance(fields, dict) or not all(isinstance(fields.get(k), str) and fields[k] for k in ("by", "sig")):
        raise ValueError("a signed record's envelope is malformed")
    return SignedRecord(body, fields["by"], fields["sig"])


def record_signature_ok(record: SignedRecord, public: bytes, record_id: str, kind: str, version: int) -> bool:
    """Whether ``record`` carries ``public``'s signature for exactly this record id, kind label and version."""
    payload = record_payload(record_id, kind, version, record.body, record.by)
    return bool(record.by) and signature_ok(public, payload, record.sig)
