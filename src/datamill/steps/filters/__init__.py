"""Filter steps: each scores the selected texts of a record and drops it with a stable reason."""
