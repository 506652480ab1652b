"""Cleaning steps: each rewrites the selected texts of a record (``on:``) and never drops a record."""
