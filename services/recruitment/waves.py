"""Waves after the first batch: reminders, targeted second waves and returned letters."""
