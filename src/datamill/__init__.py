"""datamill: turn raw, messy data into training-ready datasets for LLM fine-tuning.

``import datamill`` is cheap: heavy packages (torch, datasets, faiss, ray, trainers) are imported on
first use by the modules that need them.
"""

__version__ = "0.1.0"
