"""The input layer: expand inputs into files, detect their containers, and read them as raw rows.

Modules: ``sources`` (what to read), ``compression`` (opening, decompressing, archives), ``detect``
(which container), ``readers/`` (one module per container), ``read`` (``read_rows``, the entry point).
Nothing heavy is imported here; ``datasets`` is imported only when an ``hf://`` input is read.
"""
