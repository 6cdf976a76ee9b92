"""Shared machinery used by every stage: errors, registries, journals, dataset I/O."""
