"""Reporting's background workers (run by the consumer's process): the business metrics."""
