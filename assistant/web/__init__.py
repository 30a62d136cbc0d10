"""The chat web app's logic, without the page itself (``app.py`` lays out the Gradio Blocks).

Rooms, each importing only those above it:

- :mod:`~assistant.web.messages`: Vietnamese texts, and errors translated by their ``code``;
- :mod:`~assistant.web.followup`: follow-up questions completed into stand-alone ones;
- :mod:`~assistant.web.render`: answers, citations and the sources panel as escaped
  Markdown/HTML;
- :mod:`~assistant.web.uploads`, :mod:`~assistant.web.feedback`: uploaded files, the feedback log;
- :mod:`~assistant.web.engine`: the assistant, loaded in the background;
- :mod:`~assistant.web.indicators`: the "Chỉ số" tab;
- :mod:`~assistant.web.handlers`: the page's event handlers;
- :mod:`~assistant.web.auth`: the login gate in front of every route.

The page's CSS and JavaScript are files in ``static/`` (:func:`asset`).
"""

from __future__ import annotations

from importlib import resources


def asset(name: str) -> str:
    """The text of ``static/<name>`` shipped with the package (``app.css``, ``citations.js``)."""
    return resources.files(__name__).joinpath("static", name).read_text(encoding="utf-8")
