"""Rule-based classification: ordered YAML rules write ``category`` and ``tags``."""
