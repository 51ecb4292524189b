"""The cluster secret from keyword arguments: eccl.Master(secret_file=...) and
eccl.Communicator(secret_file=...). A peer with the master's secret joins; one
with another secret gets eccl.AuthError at connect; a missing file is
eccl.InvalidArgument naming the field. (TLS by the same path: c_security_test.)
"""

import pathlib
import tempfile

import pytest

import eccl

TIMEOUT_MS = 10_000


@pytest.fixture
def secrets():
    with tempfile.TemporaryDirectory(prefix="eccl-py-security-") as tmp:
        folder = pathlib.Path(tmp)
        a, b = folder / "a", folder / "b"
        a.write_text("cluster a: 0123456789abcdef\n")
        b.write_text("cluster b: 0123456789abcdef\n")
        a.chmod(0o600)
        b.chmod(0o600)
        yield str(a), str(b), str(folder / "missing")


def test_the_masters_secret_joins_and_another_is_refused(secrets) -> None:
    a, b, _ = secrets
    with eccl.Master("127.0.0.1:0", heartbeat_ms=100, secret_file=a) as master:
        with eccl.Communicator(master, "secret", listen="127.0.0.1:0", secret_file=a) as comm:
            comm.connect(TIMEOUT_MS)
            assert comm.world_size == 1
        with eccl.Communicator(master, "secret", listen="127.0.0.1:0", secret_file=b) as comm:
            with pytest.raises(eccl.AuthError):
                comm.connect(TIMEOUT_MS)


def test_a_missing_secret_file_names_the_field(secrets) -> None:
    _, _, missing = secrets
    with pytest.raises(eccl.InvalidArgument, match="secret_file"):
        eccl.Master("127.0.0.1:0", secret_file=missing)
    with pytest.raises(eccl.InvalidArgument, match="secret_file"):
        eccl.Communicator("127.0.0.1:9", "secret", listen="127.0.0.1:0", secret_file=missing)
