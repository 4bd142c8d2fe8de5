"""`python -m workstation.cli`: the same as the `workstation` command."""

from workstation.cli.main import main

main()
