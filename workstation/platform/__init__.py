"""Platform: settings, durable files, process hardening, the network guard and the sandbox. Imports nothing above it."""
