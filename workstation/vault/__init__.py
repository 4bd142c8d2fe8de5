"""The encrypted vault: keys, records and blobs, accounts and roles, the audit log."""
