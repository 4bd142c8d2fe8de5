"""CLI command groups; `workstation.cli` assembles them."""
