"""A griffe extension for the API reference: metarl's docstrings use Sphinx roles
(``:func:`~metarl.envs.family_table```), which Markdown would show as they are. This turns each
into a code span of the name (the last component after a ``~``), and Sphinx's double backticks
into Markdown's single ones."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
DOUBLE = re.compile(r"``([^`]+)``")


def plain(text: str) -> str:
    """``text`` with Sphinx roles and double backticks as Markdown code spans."""
    text = ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return DOUBLE.sub(r"`\1`", text)


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring of a loaded package with :func:`plain`."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        todo: list[griffe.Object] = [pkg]
        while todo:
            obj = todo.pop()
            if obj.docstring is not None:
                obj.docstring.value = plain(obj.docstring.value)
            todo.extend(member for member in obj.members.values() if not member.is_alias)
