"""Domain: the testimony model and its pure operations, the glossary, time formats. Knows no I/O."""
