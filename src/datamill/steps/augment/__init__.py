"""Rule-based augmentation: answers rewritten from fields and exactly computed values."""
