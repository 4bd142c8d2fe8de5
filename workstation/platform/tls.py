"""The organisation's private certificate authority for processing on its own machines (mutual TLS).

Why here, in platform/: certificates are plain infrastructure like `fileio` (x509 and files, no Dask, no
testimony), needed by the cluster service (services/cluster.py) and printed by the CLI; the rank-0 layer lets
both import it downward. `workstation.vault.crypto` stays the only module that touches the vault's ciphers:
nothing here encrypts testimony, it only signs certificates and a revocation list.

Layout of the folder `init_ca` creates (0700, every key 0600):

    DIR/ca/ca-key.pem        the CA's private key: never leaves the workstation
    DIR/ca/ca.pem, crl.pem   the CA certificate and its current certificate revocation list (CRL)
    DIR/ca/registry.json     every certificate issued: name, role, serial, revoked_at
    DIR/<name>/              one folder per machine, copied to that machine as it is:
        ca.pem crl.pem cert.pem key.pem

Certificates: EC P-256 keys (ECDSA-SHA256; every OpenSSL that Dask accepts speaks it in TLS 1.2 and 1.3),
subject `O=<organisation>, OU=<role>, CN=<name>`; the role is also held by the extended key usage: a
`client` certificate is for TLS client authentication only (it can never listen as a scheduler or worker),
`scheduler` and `worker` certificates serve and connect. The role in the subject is what the scheduler checks
before it lets a connection register as a client or as a worker (services/cluster.py): a worker's
certificate cannot submit work or fetch results, the workstation's cannot receive recordings as a worker.

Revocation: `revoke` records the serial and re-signs the CRL, written into DIR/ca and every machine folder
under DIR. Every TLS context of the cluster loads the CRL with `VERIFY_CRL_CHECK_LEAF` (OpenSSL refuses a
revoked certificate during the handshake), and a running scheduler re-reads its crl.pem every few seconds
(`Revocations`) and refuses or drops connections by serial number without a restart. The CRL's next update
is as far away as the certificates' expiry: on the organisation's closed network there is no distribution
point to refresh it from; re-running `revoke` (or `issue`) re-signs it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workstation.platform.errors import WorkstationError
from workstation.platform.fileio import write_file_atomic

ROLES = ("scheduler", "worker", "client")
CA_FOLDER = "ca"
CA_KEY, CA_CERT, CRL, REGISTRY = "ca-key.pem", "ca.pem", "crl.pem", "registry.json"
CERT, KEY = "cert.pem", "key.pem"
VALID_DAYS = 5 * 365
DEFAULT_ORGANISATION = "Testimony Workstation cluster"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EKU = {
    "scheduler": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    "worker": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
}


class TlsError(WorkstationError):
    """The certificate folder is missing, damaged or used for the wrong role."""


@dataclass(frozen=True)
class Issued:
    name: str
    role: str
    serial: int
    revoked_at: str | None = None


@dataclass(frozen=True)
class Identity:
    """Who is on the other end of a TLS connection, read from its (already verified) certificate."""

    name: str
    role: str
    serial: int


# --- creating the CA and certificates --------------------------------------------------------------


def init_ca(directory: Path, *, workers: int = 2, organisation: str = DEFAULT_ORGANISATION) -> list[Issued]:
    """A new private CA in `directory` (new or empty) and certificates for the scheduler, the workstation
    client and `workers` workers (worker-1, worker-2, ...)."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise TlsError(f"{directory} is not empty: a cluster CA is created in a new or empty folder.")
    _private_dir(directory)
    ca_dir = _private_dir(directory / CA_FOLDER)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} CA"),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(ca_dir / CA_KEY, _key_pem(key))
    _write_public(ca_dir / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _save_registry(directory, {"organisation": organisation, "issued": []})
    _write_crl(directory)
    issued = [issue(directory, "scheduler", "scheduler"), issue(directory, "client", "client")]
    issued += [issue(directory, f"worker-{i}", "worker") for i in range(1, workers + 1)]
    return issued


def issue(directory: Path, name: str, role: str = "worker") -> Issued:
    """A certificate for one more machine: DIR/<name>/ with ca.pem, crl.pem, cert.pem and key.pem."""
    directory = Path(directory)
    if role not in ROLES:
        raise TlsError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    if not _NAME.match(name) or name == CA_FOLDER:
        raise TlsError(f"{name!r} cannot name a certificate: use lower-case letters, digits and dashes.")
    registry = _load_registry(directory)
    if any(entry["name"] == name for entry in registry["issued"]):
        raise TlsError(f"A certificate named {name!r} was already issued; pick another name.")
    ca_key, ca_cert = _load_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, registry["organisation"]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(_EKU[role]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_alt_names(name)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder = _private_dir(directory / name)
    _write_private(folder / KEY, _key_pem(key))
    _write_public(folder / CERT, cert.public_bytes(serialization.Encoding.PEM))
    shutil.copyfile(directory / CA_FOLDER / CA_CERT, folder / CA_CERT)
    shutil.copyfile(directory / CA_FOLDER / CRL, folder / CRL)
    entry = Issued(name, role, cert.serial_number)
    registry["issued"].append(asdict(entry))
    _save_registry(directory, registry)
    return entry


def revoke(directory: Path, name: str) -> Issued:
    """Revoke a certificate: a new CRL signed by the CA, copied into DIR/ca and every machine folder in DIR.
    Copy the new crl.pem to the scheduler's machine if the scheduler runs elsewhere (it re-reads it)."""
    directory = Path(directory)
    registry = _load_registry(directory)
    for entry in registry["issued"]:
        if entry["name"] == name:
            if entry.get("revoked_at") is None:
                entry["revoked_at"] = _now().isoformat()
            _save_registry(directory, registry)
            _write_crl(directory)
            return Issued(**entry)
    raise TlsError(f"No certificate named {name!r} was issued by the CA in {directory}.")


def issued(directory: Path) -> list[Issued]:
    return [Issued(**entry) for entry in _load_registry(Path(directory))["issued"]]


# --- reading certificates back ---------------------------------------------------------------------


@dataclass(frozen=True)
class MachineFiles:
    """One machine's certificate folder: what Dask's `Security` is built from."""

    folder: Path
    name: str
    role: str

    @property
    def ca(self) -> Path:
        return self.folder / CA_CERT

    @property
    def crl(self) -> Path:
        return self.folder / CRL

    @property
    def cert(self) -> Path:
        return self.folder / CERT

    @property
    def key(self) -> Path:
        return self.folder / KEY


def machine_files(folder: Path, role: str) -> MachineFiles:
    """The certificate folder for `role`: a machine folder (with cert.pem), or the CA folder when it holds a
    folder named after the role (`scheduler`, `client`). Refuses a certificate issued for another role."""
    folder = Path(folder)
    if not (folder / CERT).exists() and (folder / role / CERT).exists():
        folder = folder / role
    missing = [f for f in (CA_CERT, CRL, CERT, KEY) if not (folder / f).exists()]
    if missing:
        raise TlsError(
            f"{folder} is not a cluster certificate folder (missing {', '.join(missing)}). Use the folder made for "
            "this machine by `workstation cluster init` or `workstation cluster issue`."
        )
    cert = x509.load_pem_x509_certificate((folder / CERT).read_bytes())
    identity = identity_of_cert(cert)
    if identity.role != role:
        raise TlsError(
            f"The certificate in {folder} is for a {identity.role} ({identity.name}), not a {role}: use the "
            f"folder made for the {role}."
        )
    if (folder / KEY).stat().st_mode & 0o077:
        raise TlsError(f"{folder / KEY} can be read by other users; make it private (chmod 600) first.")
    return MachineFiles(folder, identity.name, identity.role)


def identity_of_cert(cert: x509.Certificate) -> Identity:
    def one(oid: x509.ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    return Identity(one(NameOID.COMMON_NAME), one(NameOID.ORGANIZATIONAL_UNIT_NAME), cert.serial_number)


def identity_of_peer(peercert: dict[str, Any] | None) -> Identity | None:
    """The identity in `ssl.SSLSocket.getpeercert()`'s dict (a verified peer), or None without one."""
    if not peercert:
        return None
    fields: dict[str, str] = {}
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            fields[key] = value
    try:
        serial = int(str(peercert.get("serialNumber", "")), 16)
    except ValueError:
        return None
    return Identity(fields.get("commonName", ""), fields.get("organizationalUnitName", ""), serial)


def revoked_serials(crl_path: Path, ca_path: Path) -> frozenset[int]:
    """The serials in a CRL, after checking the CA signed it (a forged or damaged CRL raises TlsError)."""
    try:
        crl = x509.load_pem_x509_crl(Path(crl_path).read_bytes())
        ca = x509.load_pem_x509_certificate(Path(ca_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise TlsError(f"The revocation list {crl_path} cannot be read: {exc}.") from exc
    try:
        valid = crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (InvalidSignature, TypeError):
        valid = False
    if not valid:
        raise TlsError(f"The revocation list {crl_path} is not signed by this cluster's CA.")
    return frozenset(r.serial_number for r in crl)


# --- helpers ---------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
    )


def _alt_names(name: str) -> list[x509.GeneralName]:
    try:
        return [x509.IPAddress(ipaddress.ip_address(name))]
    except ValueError:
        return [x509.DNSName(name)]


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=False, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    write_file_atomic(path, [data])  # created 0600 (O_EXCL temp file), renamed into place
    os.chmod(path, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    write_file_atomic(path, [data])
    os.chmod(path, 0o644)


def _load_ca(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_dir = directory / CA_FOLDER
    try:
        key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
    except FileNotFoundError as exc:
        raise TlsError(
            f"{directory} holds no cluster CA (its ca/ folder with the CA key is only on the workstation that "
            "ran `workstation cluster init`)."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"The CA key in {ca_dir} is not an EC key made by `workstation cluster init`.")
    return key, cert


def _load_registry(directory: Path) -> dict[str, Any]:
    path = directory / CA_FOLDER / REGISTRY
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise TlsError(f"{directory} holds no cluster CA: run `workstation cluster init {directory}` first.") from exc
    except ValueError as exc:
        raise TlsError(f"{path} is damaged.") from exc


def _save_registry(directory: Path, registry: dict[str, Any]) -> None:
    _write_public(directory / CA_FOLDER / REGISTRY, json.dumps(registry, indent=2).encode("utf-8"))


def _write_crl(directory: Path) -> None:
    """Sign the CRL of every revoked serial and put it in DIR/ca and each machine folder under DIR."""
    key, cert = _load_ca(directory)
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject).last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=VALID_DAYS))
    )
    for entry in _load_registry(directory)["issued"]:
        if entry.get("revoked_at"):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(entry["serial"]))
                .revocation_date(dt.datetime.fromisoformat(entry["revoked_at"])).build()
            )
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    _write_public(directory / CA_FOLDER / CRL, pem)
    for folder in directory.iterdir():
        if folder.name != CA_FOLDER and (folder / CERT).exists():
            _write_public(folder / CRL, pem)


class Revocations:
    """The revoked serials of a machine folder's crl.pem, re-read when the file changes (checked at most every
    `interval_s`): a running scheduler learns of a `revoke` without a restart. A CRL that fails its signature
    check is not taken; the last good one stays in force, and the failure is kept in `.problem`."""

    def __init__(self, files: MachineFiles, interval_s: float = 2.0) -> None:
        self.files = files
        self.interval_s = interval_s
        self.problem = ""
        self._serials = revoked_serials(files.crl, files.ca)
        self._stamp = self._mtime()
        self._checked = time.monotonic()

    def _mtime(self) -> tuple[int, int]:
        stat = self.files.crl.stat()
        return stat.st_mtime_ns, stat.st_size

    def refresh(self) -> bool:
        """Re-read the CRL if it changed; True when the set of revoked serials changed."""
        self._checked = time.monotonic()
        try:
            stamp = self._mtime()
            if stamp == self._stamp:
                return False
            serials = revoked_serials(self.files.crl, self.files.ca)
        except (OSError, TlsError) as exc:
            self.problem = str(exc)
            return False
        self._stamp, self.problem = stamp, ""
        changed = serials != self._serials
        self._serials = serials
        return changed

    def revoked(self, serial: int) -> bool:
        if time.monotonic() - self._checked >= self.interval_s:
            self.refresh()
        return serial in self._serials

    @property
    def serials(self) -> frozenset[int]:
        return self._serials
