"""Field docstrings in ``help()``: the string under each field of a dataclass, added to its ``__doc__``.

Python drops a string literal written under a class attribute, so ``help(TrainConfig)`` would
show the fields without their documentation. :func:`document_fields` reads them from the source
once, at import, and appends a "Fields" section (name, default, text) to the class docstring.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import textwrap
from typing import TypeVar

__all__ = ["document_fields"]

T = TypeVar("T", bound=type)


def document_fields(cls: T) -> T:
    """Append each field's docstring (and default) to ``cls.__doc__``; a class whose source is
    unavailable (a frozen application) keeps its docstring."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return cls
    body = tree.body[0].body
    docs = {
        node.target.id: " ".join(inspect.cleandoc(after.value.value).split())
        for node, after in itertools.pairwise(body)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and isinstance(after, ast.Expr)
        and isinstance(after.value, ast.Constant)
        and isinstance(after.value.value, str)
    }
    lines = []
    for field in dataclasses.fields(cls):
        default = (
            field.default_factory()
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        head = f"{field.name} (default {default!r}): {docs.get(field.name, '')}"
        lines.append(textwrap.fill(head, 96, initial_indent="    ", subsequent_indent="        "))
    cls.__doc__ = f"{inspect.cleandoc(cls.__doc__ or '')}\n\nFields:\n" + "\n".join(lines)
    return cls
