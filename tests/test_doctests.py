"""The examples in the docstrings of the text-level and vector-store modules are run as tests."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "assistant.numbers",
        "assistant.dates",
        "assistant.question",
        "assistant.wording",
        "assistant.quotes",
        "assistant.filler",
        "assistant.provinces",
        "assistant.restore",
        "assistant.indicators",
        "assistant.indicator_extract",
        "assistant.indicator_values",
        "embeddings.base",
        "assistant.vectors",
        "assistant.vectors.base",
        "assistant.vectors.faiss",
        "assistant.vectors.milvus",
        "assistant.vectors.milvus_filter",
        "assistant.vectors.milvus_records",
    ],
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
