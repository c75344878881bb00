"""The README's Python code blocks run as written, each on its own (they define their data)."""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)
OPTIONAL = ("torch", "xgboost", "lightgbm", "matplotlib", "dask", "cupy", "pandas", "pyarrow")


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path, monkeypatch):
    for name in OPTIONAL:
        if re.search(rf"^\s*(import|from) {name}\b", code, flags=re.M):
            if importlib.util.find_spec(name) is None:
                pytest.skip(f"needs {name}")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_readme_has_blocks():
    assert len(BLOCKS) >= 5
