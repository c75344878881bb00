import pytest

import fastml._validation as validation


def _gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _refuse(name, module="sklearn.metrics"):
    raise AssertionError(f"fast path handed {name} to {module}")


@pytest.fixture
def fast_only(monkeypatch):
    """Make any hand-off to the reference (scikit-learn) fail the test."""
    monkeypatch.setattr(validation, "reference", _refuse)


@pytest.fixture
def reference_calls(monkeypatch):
    """The names handed to the reference during the test (the hand-offs still happen)."""
    calls = []
    real = validation.reference

    def spy(name, module="sklearn.metrics"):
        calls.append(name)
        return real(name, module)

    monkeypatch.setattr(validation, "reference", spy)
    return calls
