"""The examples in the docstrings of the text-level modules are run as tests."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["assistant.numbers", "assistant.dates", "assistant.indicators",
                                  "assistant.indicator_extract", "embeddings.base"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
