"""The command line shell: `workstation ...` parses input, calls a service, prints."""
