"""Dedup steps beyond exact matching: near-duplicate (MinHash + LSH), semantic (embeddings), leakage.

Shared machinery: :mod:`.keep` (which record of a group survives), :mod:`.components` (union-find
over duplicate edges), :mod:`.groups` (groups -> per-shard plans, dropped details, report),
:mod:`.artifacts` (``clusters.json``, ``labels.csv``, ``summary.csv`` next to the stage).
"""
