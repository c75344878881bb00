import os

import numpy as np
import pytest

# The GPU kernels run in numba-cuda's CUDA simulator unless a run asks for the device
# (NUMBA_ENABLE_CUDASIM=0, as benches/gpu_check.sh does); set before numba is imported.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


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
def threads():
    """``fastml.set_num_threads``, with the thread count restored after the test."""
    import fastml

    before = fastml.get_num_threads()
    yield fastml.set_num_threads
    fastml.set_num_threads(before)


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


class _TensorLike:
    """Stand-in for a CPU tensor of a deep-learning library (torch's shape of one): its own
    ``dtype`` object, an ``index`` method (as ``torch.Tensor.index``, which once made such
    tensors pass for pandas objects), and NumPy access through ``__array__`` or, with
    ``dlpack_only``, through DLPack alone. Wraps a NumPy array, shared, not copied."""

    def __init__(self, data, dlpack_only=False):
        self._data = np.asarray(data)
        self.dtype = f"tensorlike.{self._data.dtype}"
        self.shape = self._data.shape
        self.ndim = self._data.ndim
        self.device = "cpu"
        if not dlpack_only:
            self.__array__ = self._array

    def index(self, *args):
        raise AssertionError("a tensor's index method is not pandas' index")

    def __len__(self):
        return len(self._data)

    def _array(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()


@pytest.fixture(params=["array", "dlpack"])
def tensor_like(request):
    """Factory of tensor stand-ins, read by NumPy through ``__array__``, then DLPack."""
    return lambda data: _TensorLike(data, dlpack_only=request.param == "dlpack")
