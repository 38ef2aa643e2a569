"""incident-tracker: located events with provenance, verification and history."""

__version__ = "0.1.0"
