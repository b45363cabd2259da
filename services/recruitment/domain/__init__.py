"""Recruitment rules without I/O: letters per region, the invitation sample, codes, answers."""
