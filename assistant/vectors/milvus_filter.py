"""Milvus filter expressions as templates with parameters (``province == {province}``, the value
passed apart), never values pasted into the string; rendered to literals only for an engine that
does not take parameters (Milvus Lite).

>>> e = where_expression(SearchFilter(province='Bắc "Giang', year=2020))
>>> e.template
'province == {province} and period_start <= {year} and period_end >= {year}'
>>> e.render()
'province == "Bắc \\\\"Giang" and period_start <= 2020 and period_end >= 2020'
>>> keys_in(["a#0", "b#1"]).render(), where_expression(SearchFilter()).render()
('pk in ["a#0", "b#1"]', '')
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.types import SearchFilter

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def literal(value: Any) -> str:
    """A Milvus literal: a string quoted and escaped, an integer, a list of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # "..." with \" and \\ escaped
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"no Milvus literal for {type(value).__name__}")


@dataclass(frozen=True)
class Expression:
    """A boolean expression ``template`` over fields, its values in ``params``."""

    template: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """The expression with its values as literals (for Milvus Lite)."""
        return _PLACEHOLDER.sub(lambda m: literal(self.params[m.group(1)]), self.template)

    def arguments(self, templates: bool) -> dict[str, Any]:
        """The ``filter`` (and ``filter_params``) arguments of a search or query."""
        if templates and self.params:
            return {"filter": self.template, "filter_params": dict(self.params)}
        return {"filter": self.render()}


def where_expression(where: SearchFilter) -> Expression:
    """The expression for ``where`` (empty when it lets everything through). A year filter
    keeps the documents whose period (``period_start``..``period_end``, the year alone when a
    document has no period) includes the year."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if where.province is not None:
        parts.append("province == {province}")
        params["province"] = where.province
    if where.year is not None:
        parts.append("period_start <= {year} and period_end >= {year}")
        params["year"] = int(where.year)
    if where.doc_ids is not None:
        parts.append("doc_id in {doc_ids}")
        params["doc_ids"] = sorted(where.doc_ids)
    return Expression(" and ".join(parts), params)


def keys_in(keys: Sequence[str | int]) -> Expression:
    """Rows whose primary key is one of ``keys``."""
    return Expression("pk in {keys}", {"keys": list(keys)})


# whether each server takes filter parameters: learned on first use (Milvus Lite does not)
_TEMPLATES: dict[str, bool] = {}
_LOCK = threading.Lock()


def filtered(uri: str, call: Callable[..., Any], expression: Expression, **kw: Any) -> Any:
    """``call(**kw)`` with ``expression`` as its filter: as a template where the server at
    ``uri`` takes parameters, else rendered."""
    with _LOCK:
        templates = _TEMPLATES.get(uri, not uri.endswith(".db"))
    if templates and expression.params:
        try:
            result = call(**expression.arguments(True), **kw)
        except Exception as err:  # an engine without templates cannot parse '{'
            if "unexpected character '{'" not in str(err):
                raise
            with _LOCK:
                _TEMPLATES[uri] = False
        else:
            with _LOCK:
                _TEMPLATES[uri] = True
            return result
    return call(**expression.arguments(False), **kw)
