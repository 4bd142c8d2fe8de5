"""Testimony Workstation: offline, encrypted transcription and translation of recorded testimonies."""

__version__ = "0.1.0"
