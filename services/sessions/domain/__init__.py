"""Sessions rules without I/O."""
