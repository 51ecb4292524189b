"""Pipeline stages from Python: stage config, report_metric, stage_info,
announce_recovered and the STAGE_LOST / STAGE_RESTORED events (a master of its
own: the pipeline is the master's, and the session master's other groups have
no stage)."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

import eccl
from conftest import make_comm

STAGES = 2


@pytest.fixture(scope="module")
def pipeline_master() -> Iterator[eccl.Master]:
    with eccl.Master("127.0.0.1:0", heartbeat_ms=100) as m:
        yield m


def await_event(comm: eccl.Communicator, kind: eccl.EventKind,
                timeout_s: float = 10.0) -> eccl.Event:
    """The first queued event of `kind` (others are skipped), polling until timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for event in comm.events():
            if event.kind == kind:
                return event
        time.sleep(0.005)
    raise AssertionError(f"no {kind.name} within {timeout_s} s")


def test_stage_config_is_checked(pipeline_master: eccl.Master) -> None:
    with pytest.raises(eccl.InvalidArgument, match="num_stages"):
        make_comm(pipeline_master, "bad", stage=1, num_stages=0)
    with pytest.raises(eccl.InvalidArgument, match="stage must be below num_stages"):
        make_comm(pipeline_master, "bad", stage=2, num_stages=2)
    with pytest.raises(ValueError):
        make_comm(pipeline_master, "bad", stage=1 << 31, num_stages=2)


def test_a_lost_stage_recovers_is_announced_restored_and_keeps_its_metric(
        pipeline_master: eccl.Master) -> None:
    s0 = make_comm(pipeline_master, "py-s0", stage=0, num_stages=STAGES)
    s1 = make_comm(pipeline_master, "py-s1", stage=1, num_stages=STAGES)
    plain = make_comm(pipeline_master, "py-plain")
    replacement = None
    try:
        for comm in (s0, s1, plain):
            comm.connect()
        assert (s0.stage, s1.stage, plain.stage) == (0, 1, -1)

        s1.report_metric(4, 0.75)
        with pytest.raises(eccl.InvalidArgument):
            s1.report_metric(5, float("nan"))
        with pytest.raises(eccl.InvalidUsage, match="not a pipeline stage"):
            plain.report_metric(1, 1.0)
        # s1's own query follows its report on its connection.
        assert s1.stage_info(1) == eccl.StageInfo(
            stage=1, state=eccl.StageState.ACTIVE, group="py-s1", accepted=1, metric_round=4,
            metric=0.75, metric_peer=s1.peer_id)
        assert plain.stage_info(7) == eccl.StageInfo(
            stage=7, state=eccl.StageState.UNKNOWN, group="", accepted=0, metric_round=None,
            metric=None, metric_peer=None)
        with pytest.raises(ValueError):
            plain.stage_info(4096)

        lost_id = s1.peer_id
        s1.close()
        event = await_event(s0, eccl.EventKind.STAGE_LOST)
        assert (event.stage, event.revision, event.peer.raw) == (1, 0, bytes(16))
        info = s0.stage_info(1)
        assert (info.state, info.group, info.accepted) == (eccl.StageState.LOST, "py-s1", 0)
        assert (info.metric_round, info.metric, info.metric_peer) == (4, 0.75, lost_id)

        replacement = make_comm(pipeline_master, "py-s1", stage=1, num_stages=STAGES)
        with pytest.raises(eccl.InvalidUsage, match="not accepted"):
            replacement.announce_recovered(7)
        replacement.connect()
        # Accepted, but the weights are not rebuilt yet: RECOVERING, no event.
        # (An event sent at the admission would precede s0's own answer.)
        info = replacement.stage_info(1)
        assert (info.state, info.group, info.accepted) == (eccl.StageState.RECOVERING, "py-s1", 1)
        assert s0.stage_info(1).state == eccl.StageState.RECOVERING
        assert all(e.kind != eccl.EventKind.STAGE_RESTORED for e in s0.events())

        with pytest.raises(eccl.InvalidUsage, match="not a pipeline stage"):
            plain.announce_recovered(7)
        with pytest.raises(ValueError):
            replacement.announce_recovered(-1)
        info = replacement.announce_recovered(7)
        assert (info.stage, info.state, info.group, info.accepted) == (
            1, eccl.StageState.ACTIVE, "py-s1", 1)
        event = await_event(s0, eccl.EventKind.STAGE_RESTORED)
        assert (event.stage, event.revision, event.peer.raw) == (1, 7, bytes(16))
        assert await_event(replacement, eccl.EventKind.STAGE_RESTORED).revision == 7
        # Once active, an announcement changes nothing.
        assert s0.announce_recovered(9, timeout_ms=5000).state == eccl.StageState.ACTIVE
        assert replacement.stage_info(1).state == eccl.StageState.ACTIVE
        assert s0.stage_info(1).state == eccl.StageState.ACTIVE
        assert all(e.kind != eccl.EventKind.STAGE_RESTORED for e in s0.events())
        stage_kinds = (eccl.EventKind.STAGE_LOST, eccl.EventKind.STAGE_RESTORED)
        assert all(e.kind not in stage_kinds and e.stage == -1 for e in plain.events())
    finally:
        for comm in (s0, s1, plain, replacement):
            if comm is not None:
                comm.close()
