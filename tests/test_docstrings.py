"""Every docstring example in the package runs, and shows what it prints."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import fastml

OPTIONAL = {"fastml.losses.torch": "torch", "fastml.plot": "matplotlib"}


def _modules():
    names = ["fastml"]
    for info in pkgutil.walk_packages(fastml.__path__, "fastml."):
        if ".kernels" in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    if not tests:
        pytest.skip("no examples")
    with np.printoptions(legacy=False):
        for test in tests:
            runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0
    assert failed == 0, f"{failed} of {attempted} docstring examples failed in {name}"
