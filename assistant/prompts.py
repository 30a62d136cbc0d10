"""Prompt templates as files (``prompts/<name>.txt``), loaded by name, their variables checked.

A template names its variables in braces: ``Câu hỏi: {question}``. Loading checks that the file
uses exactly the variables its caller fills in, so an edited prompt that lost ``{passages}``
fails at start, not with a model answering without passages.

>>> Prompt("t", "Hỏi: {question}", {"question"}).render(question="{x} có gì?")
'Hỏi: {x} có gì?'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.config import BUNDLED_PROMPTS
from assistant.errors import PromptError

PROMPTS_DIR = BUNDLED_PROMPTS
_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str
    variables: frozenset[str] | set[str]

    def render(self, **values: str) -> str:
        """The template with its variables filled in (values are inserted as they are)."""
        missing = set(self.variables) - set(values)
        if missing:
            raise PromptError(f"prompt {self.name!r} needs {', '.join(sorted(missing))}")
        return _VARIABLE.sub(lambda m: str(values[m.group(1)]), self.template)


def load_prompt(name: str, required: set[str], folder: Path | None = None) -> Prompt:
    """``<folder>/<name>.txt`` (default: the repository's ``prompts/``), checked to use exactly
    the variables in ``required``."""
    path = Path(folder or PROMPTS_DIR) / f"{name}.txt"
    try:
        template = path.read_text("utf-8").strip()
    except OSError as err:
        raise PromptError(
            f"cannot read prompt {path} ({err.strerror}); restore it from the "
            "repository or point llm_prompts_dir at a folder that has it"
        ) from err
    used = set(_VARIABLE.findall(template))
    missing, unknown = required - used, used - required
    if missing or unknown:
        parts = []
        if missing:
            parts.append("lacks " + ", ".join(f"{{{v}}}" for v in sorted(missing)))
        if unknown:
            parts.append("has unknown " + ", ".join(f"{{{v}}}" for v in sorted(unknown)))
        raise PromptError(
            f"prompt {path} {' and '.join(parts)}; it must use exactly "
            + ", ".join(f"{{{v}}}" for v in sorted(required))
        )
    return Prompt(name, template, frozenset(required))
