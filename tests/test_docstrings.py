"""The examples in the docstrings are run, so they stay true."""

import doctest
import re

import pytest

import gru_hf.configuration_gru
import gru_hf.embedding_rows
import gru_hf.tokenization_gru


class FencedParser(doctest.DocTestParser):
    """Docstrings use Markdown fences (```python ... ```) around examples, as transformers' do; a closing fence
    would otherwise be read as part of the expected output."""

    def parse(self, string, name="<string>"):
        return super().parse(re.sub(r"^\s*```.*$", "", string, flags=re.MULTILINE), name)


MODULES = [gru_hf.configuration_gru, gru_hf.embedding_rows, gru_hf.tokenization_gru]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    tests = doctest.DocTestFinder(parser=FencedParser()).find(module)
    examples = [test for test in tests if test.examples]
    assert examples, f"{module.__name__} has no docstring examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in examples:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
