"""The operators generated code calls: comparisons and conditions.

AMPscript compares and tests values its own way; the rules are the value
core's (`ampscript.values.compare`, with their sources).  ``not``, ``and``
and ``or`` compile to Python's, over `truthy` conditions: ``and`` and ``or``
are evaluated left to right and stop as soon as the result is known
(``false and X`` does not evaluate X; the reference does not say, choice).
``not`` negates the whole comparison after it: ``NOT @a < @b`` is
``not (@a < @b)`` (the grammar makes it so).
"""

from __future__ import annotations

from .values.compare import condition as truthy
from .values.compare import eq, ge, gt, le, lt, ne

__all__ = ["eq", "ge", "gt", "le", "lt", "ne", "truthy"]
