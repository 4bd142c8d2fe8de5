"""Evidence stage: rendered deliverables, the manifest, encrypted packages, redaction."""
