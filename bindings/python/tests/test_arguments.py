"""Arguments Python rejects before any C call, and the ones the library rejects."""

from __future__ import annotations

import pickle
from typing import Iterator

import numpy as np
import pytest

import eccl
from conftest import make_comm


@pytest.fixture(scope="module")
def solo(master: eccl.Master) -> Iterator[eccl.Communicator]:
    """A communicator alone in its group (a ring of one)."""
    with make_comm(master, "arguments") as comm:
        comm.connect()
        yield comm


def test_a_non_contiguous_array_is_a_value_error(solo: eccl.Communicator) -> None:
    x = np.zeros((8, 8), dtype=np.float32)[:, ::2]
    with pytest.raises(ValueError, match="not C-contiguous"):
        solo.all_reduce(x)
    with pytest.raises(ValueError, match="not C-contiguous"):
        solo.all_gather(x)


def test_a_read_only_output_is_a_value_error(solo: eccl.Communicator) -> None:
    x = np.zeros(8, dtype=np.float32)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        solo.all_reduce(x)
    with pytest.raises(ValueError, match="read-only"):
        solo.all_reduce(np.ones(8, np.float32), out=x)
    with pytest.raises(ValueError, match="read-only"):
        solo.recv(x, 0)


def test_unsupported_dtypes_are_type_errors(solo: eccl.Communicator) -> None:
    for x in (np.zeros(4, dtype=np.complex64), np.zeros(4, dtype=bool),
              np.array(["a", "b"]), [1.0, 2.0]):
        with pytest.raises(TypeError):
            solo.all_reduce(x)


def test_out_must_match_the_input(solo: eccl.Communicator) -> None:
    x = np.ones(8, dtype=np.float32)
    with pytest.raises(TypeError, match="dtypes differ"):
        solo.all_reduce(x, out=np.zeros(8, dtype=np.float64))
    with pytest.raises(ValueError, match="holds 7 elements"):
        solo.all_reduce(x, out=np.zeros(7, dtype=np.float32))
    big = np.ones(16, dtype=np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        solo.all_reduce(big[:8], out=big[4:12])


def test_bad_names_and_values(solo: eccl.Communicator) -> None:
    x = np.ones(8, dtype=np.float32)
    with pytest.raises(ValueError, match="unknown reduction"):
        solo.all_reduce(x, op="median")
    with pytest.raises(ValueError, match="tag"):
        solo.all_reduce(x, tag=2**32)
    with pytest.raises(ValueError, match="tag"):
        solo.all_reduce(x, tag=-1)
    with pytest.raises(ValueError):
        solo.all_reduce(x, quant="minmax")
    with pytest.raises(ValueError):
        solo.all_reduce(x, quant="fancy:u8")
    with pytest.raises(ValueError, match="world_size"):
        solo.reduce_scatter(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="strategy"):
        solo.sync_state({"a": x}, 1, strategy="loudest")
    with pytest.raises(TypeError, match="peer"):
        solo.send(x, "somebody")


def test_library_argument_errors_are_invalid_argument(solo: eccl.Communicator) -> None:
    with pytest.raises(eccl.InvalidArgument) as caught:
        solo.all_reduce(np.ones(32, dtype=np.int32), quant="minmax:u8")
    assert caught.value.detail  # ecclGetLastError's text
    with pytest.raises(eccl.InvalidArgument):
        solo.all_reduce(np.ones(32, dtype=np.float32), quant=eccl.QuantConfig(block_size=17))
    with pytest.raises(eccl.InvalidArgument):
        solo.broadcast(np.ones(4, np.float32), root=5)
    with pytest.raises(eccl.InvalidArgument):
        eccl.Communicator("127.0.0.1:0")  # port 0 is no master
    with pytest.raises(eccl.InvalidArgument):
        solo.lookup_peer(7)
    with pytest.raises(eccl.InvalidArgument, match="transport"):
        eccl.Communicator("127.0.0.1:9", transport="carrier-pigeon")


def test_tensors_off_the_host_are_refused(solo: eccl.Communicator) -> None:
    torch = pytest.importorskip("torch")
    meta = torch.empty(8, device="meta")  # like a CUDA tensor: no host memory
    with pytest.raises(ValueError, match="(?i)stage it on the host"):
        solo.all_reduce(meta)
    with pytest.raises(ValueError, match="not contiguous"):
        solo.all_reduce(torch.zeros(8, 8).t())
    with pytest.raises(TypeError):
        solo.all_reduce(torch.zeros(4, dtype=torch.complex64))


def test_a_ring_of_one_reduces_to_itself(solo: eccl.Communicator) -> None:
    x = np.arange(10, dtype=np.float64)
    assert solo.all_reduce(x) is x and x.tolist() == list(range(10))
    assert solo.all_gather(np.ones(3, np.int8)).shape == (1, 3)
    assert solo.rank == 0 and solo.world_size == 1 and solo.revision >= 1
    assert solo.group == "arguments" and len(str(solo.peer_id)) == 32
    assert solo.fetches_serving == 0


def test_error_classes() -> None:
    for code, cls in [(1, eccl.InvalidArgument), (2, eccl.InvalidUsage),
                      (3, eccl.EcclSystemError), (4, eccl.InternalError),
                      (5, eccl.EcclConnectionError), (6, eccl.ProtocolError), (7, eccl.Timeout),
                      (8, eccl.PeerLost), (9, eccl.Aborted), (10, eccl.OutOfMemory),
                      (11, eccl.Unsupported), (12, eccl.AuthError)]:
        error = eccl.EcclError(code, "detail text")
        assert type(error) is cls and isinstance(error, eccl.EcclError)
        assert error.code == code and error.detail == "detail text"
        assert str(error).startswith(eccl.error_string(code).split(":")[0])
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls and copy.code == code and copy.detail == "detail text"
    assert eccl.ConnectionError is eccl.EcclConnectionError
    assert eccl.SystemError is eccl.EcclSystemError
    assert "ConnectionError" not in eccl.__all__  # "import *" must not shadow the builtin
    assert type(eccl.EcclError(99, "")) is eccl.EcclError


def test_quant_config_parsing() -> None:
    config = eccl.QuantConfig.parse("zps:i8:256").to_c()
    assert (config.algorithm, config.wire_type, config.block_size) == (2, 1, 256)
    assert eccl.QuantConfig.parse("minmax:bf16") == eccl.QuantConfig("minmax", "bf16", 1024)
    assert eccl.QuantConfig.parse("none").algorithm == "none"
