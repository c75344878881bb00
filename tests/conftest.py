import os

# The GPU kernels run in numba-cuda's CUDA simulator unless a run asks for the device
# (NUMBA_ENABLE_CUDASIM=0, as benches/gpu_check.sh does); set before numba is imported.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import pytest  # noqa: E402

import fastml._validation as validation  # noqa: E402


def _gpu_available() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False  # the kernels are simulated: CuPy arrays cannot go through them
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
        if item.get_closest_marker("gpu") is not None:
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
