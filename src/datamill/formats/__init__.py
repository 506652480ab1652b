"""Record formats: adapters that map input rows onto canonical records, and format detection.

One rule for every adapter: *blank is not broken*. A row is quarantined only when it cannot be read as
a record (not an object, a field the format needs is missing, ``null`` or of the wrong type, no turns);
a blank value (an empty or whitespace-only prompt, answer, text or preference side) is kept as it is,
and ``empty_answer``/``length`` or the exporters drop it with a reason (``empty_user_turn``,
``empty_assistant_turn``, ``empty_text``), so an empty answer can still be filled by a later step.

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
