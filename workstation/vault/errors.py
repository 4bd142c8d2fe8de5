"""Errors about the vault as a whole and its records, shared by the session and the modules behind it."""

from __future__ import annotations

from workstation.platform.errors import WorkstationError


class VaultError(WorkstationError):
    """Something about the vault as a whole (missing, already there, unreadable)."""


class VaultNotFoundError(VaultError):
    pass


class VaultExistsError(VaultError):
    pass


class VaultLockedError(VaultError):
    """The session was locked; unlock again."""


class NotFoundError(VaultError):
    """No such testimony (or recording) in this vault."""


class IntegrityError(VaultError):
    """Stored data failed authentication or its recorded hash: altered or damaged."""


class BackupError(VaultError):
    """The backup archive is damaged, altered or not a backup."""
