"""Record formats: adapters that map input rows onto canonical records, and format detection.

>>> from datamill.formats import AdapterConfig, detect_format, get_adapter
>>> rows = [{"instruction": "Say hi", "input": "", "output": "Hi!"}]
>>> detect_format(rows).format
'alpaca'
>>> get_adapter("alpaca").to_record(rows[0])["messages"][-1]
{'role': 'assistant', 'content': 'Hi!'}
"""

from datamill.formats.base import AdapterConfig, AdapterError, Detection, FormatAdapter
from datamill.formats.messages import KTO_LABEL
from datamill.formats.registry import ADAPTERS, adapter_for_hint, adapter_names, detect_format, get_adapter

__all__ = [
    "ADAPTERS",
    "KTO_LABEL",
    "AdapterConfig",
    "AdapterError",
    "Detection",
    "FormatAdapter",
    "adapter_for_hint",
    "adapter_names",
    "detect_format",
    "get_adapter",
]
