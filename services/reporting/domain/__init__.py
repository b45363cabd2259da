"""Reporting figures without I/O."""
