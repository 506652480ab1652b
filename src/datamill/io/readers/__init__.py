"""One reader per container format.

Every reader has the signature ``(stream, display, options, report) -> Iterator[RawRow]`` (the Hugging
Face reader takes the source instead of a stream), reads UTF-8 bytes (``read.py`` transcodes other
encodings first), never raises for a bad row, and counts what it skipped or repaired in ``report``.
"""
