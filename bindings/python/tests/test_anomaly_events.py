"""The detectors' events (EventKind.HUNG_PEER, EventKind.STRAGGLER) and the
value / threshold fields of Event (ecclEvent_t.value, .threshold).

The layout of ecclEvent_t and the values of ecclEventKind_t are checked against
the compiler and the header by test_layout.py (it covers every mirrored struct
and enum); here: the public mirror, and end to end that events of the ordinary
kinds carry value == threshold == 0.0, and that a caller of an older
ecclEvent_t (a struct_size that stops before value) still polls and does not
have the new fields written.

A master of its own with short detector settings (eccl.Master(hung_ms=...),
ecclMasterConfig_t's detector fields) finds a peer that never enters an
all-reduce hung and evicts it: the others' call raises PeerLost within a few
seconds, not at its 30 s deadline, after HUNG_PEER; bad settings are refused.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import Callable

import numpy as np

import eccl
from eccl import _ctypes_api as api
from conftest import form_ring, ok, on_all, wait_until

Ring = Callable[..., list[eccl.Communicator]]

ANOMALY_KINDS = (eccl.EventKind.HUNG_PEER, eccl.EventKind.STRAGGLER, eccl.EventKind.SLOW_LINK,
                 eccl.EventKind.SLOW_NODE, eccl.EventKind.FROZEN_LINK)


# ---- the mirror --------------------------------------------------------------------------

def test_layout_tests_cover_the_event_struct_and_enum() -> None:
    # test_layout.py's parametrized tests run over these registries.
    assert api.STRUCTS["ecclEvent_t"] is api.ecclEvent_t
    assert api.ENUMS["ecclEventKind_t"] is api.ecclEventKind_t
    assert api.ecclEvent_t in api.VERSIONED
    fields = dict(api.ecclEvent_t._fields_)
    assert [name for name, _ in api.ecclEvent_t._fields_][-3:] == ["value", "threshold",
                                                                   "link_to"]
    assert fields["value"] is ctypes.c_double and fields["threshold"] is ctypes.c_double
    assert fields["link_to"] is api.ecclPeerId_t


def test_event_kind_mirrors_the_c_enum() -> None:
    assert api.ecclEventKind_t.ECCL_EVENT_HUNG_PEER == 7
    assert api.ecclEventKind_t.ECCL_EVENT_STRAGGLER == 8
    assert api.ecclEventKind_t.ECCL_EVENT_SLOW_LINK == 9
    assert api.ecclEventKind_t.ECCL_EVENT_SLOW_NODE == 10
    assert api.ecclEventKind_t.ECCL_EVENT_FROZEN_LINK == 11
    # Every C kind but NONE (None from poll_event) has a public kind of the same name and value.
    c_kinds = {m.name.removeprefix("ECCL_EVENT_"): m.value for m in api.ecclEventKind_t
               if m != api.ecclEventKind_t.ECCL_EVENT_NONE}
    assert {k.name: k.value for k in eccl.EventKind} == c_kinds
    assert eccl.EventKind(7) is eccl.EventKind.HUNG_PEER
    assert eccl.EventKind(8) is eccl.EventKind.STRAGGLER


def test_event_value_and_threshold_default_to_zero() -> None:
    peer = eccl.PeerId(bytes(range(16)))
    event = eccl.Event(kind=eccl.EventKind.PEER_LEFT, peer=peer, revision=3)
    assert (event.stage, event.value, event.threshold, event.link_to) == (-1, 0.0, 0.0, None)
    link = eccl.Event(kind=eccl.EventKind.SLOW_LINK, peer=peer, revision=3, value=0.9,
                      threshold=0.5, link_to=eccl.PeerId(bytes(16 * [7])))
    assert link.link_to is not None and link.link_to.short == "07070707"
    hung = eccl.Event(kind=eccl.EventKind.HUNG_PEER, peer=peer, revision=3,
                      value=1500.0, threshold=1000.0)
    assert (hung.value, hung.threshold) == (1500.0, 1000.0)
    assert isinstance(hung.value, float) and isinstance(hung.threshold, float)


# ---- end to end --------------------------------------------------------------------------

def _collect(comms: list[eccl.Communicator], seen: list[list[eccl.Event]]) -> None:
    for comm, events in zip(comms, seen):
        if not comm._h.closed:
            events.extend(comm.events())


def test_ordinary_events_carry_zero_value_and_threshold(ring_factory: Ring) -> None:
    comms = ring_factory("anomaly-events")
    seen: list[list[eccl.Event]] = [[] for _ in comms]
    _collect(comms, seen)  # the joins of the ring's formation
    ok(on_all(comms, lambda c: c.all_reduce(np.full(1024, c.rank + 1, dtype=np.float32))))
    leaving = comms[2].peer_id
    comms[2].close()

    def left() -> bool:
        _collect(comms[:2], seen)
        return all(any(e.kind == eccl.EventKind.PEER_LEFT and e.peer == leaving for e in events)
                   for events in seen[:2])

    wait_until(left, timeout_s=10, what="PEER_LEFT on both survivors")
    events = [e for per_comm in seen for e in per_comm]
    kinds = {e.kind for e in events}
    assert eccl.EventKind.PEER_JOINED in kinds and eccl.EventKind.PEER_LEFT in kinds
    for event in events:
        assert isinstance(event.value, float) and isinstance(event.threshold, float)
        if event.kind not in ANOMALY_KINDS:
            assert (event.value, event.threshold) == (0.0, 0.0), event
            assert event.link_to is None, event
            assert event.stage == -1, event  # no stage in this group
    ok(on_all(comms[:2], lambda c: c.update_topology()))
    assert [c.world_size for c in comms[:2]] == [2, 2]


def test_an_older_event_struct_is_not_written_past_its_size(ring_factory: Ring) -> None:
    comms = ring_factory("anomaly-old-struct", 2)
    for comm in comms:
        list(comm.events())  # the joins of the ring's formation
    leaving = comms[1].peer_id
    comms[1].close()
    old_size = api.ecclEvent_t.value.offset  # the struct before value, threshold and link_to
    sentinel = -12345.5

    def poll_old() -> api.ecclEvent_t:
        event = api.ecclEvent_t(struct_size=old_size, value=sentinel, threshold=sentinel)
        comms[0]._h.call("ecclCommPollEvent", ctypes.byref(event))
        return event

    deadline = time.monotonic() + 10
    while True:
        event = poll_old()
        if event.kind == api.ecclEventKind_t.ECCL_EVENT_PEER_LEFT:
            break
        assert time.monotonic() < deadline, "no PEER_LEFT within 10 s"
        if event.kind == api.ecclEventKind_t.ECCL_EVENT_NONE:
            time.sleep(0.005)
    assert eccl.PeerId.from_c(event.peer) == leaving
    assert event.stage == -1  # covered by the old size: written
    assert (event.value, event.threshold) == (sentinel, sentinel)  # past it: untouched
    # The current size writes them: every ordinary event, and NONE of an empty queue, reads 0.0.
    for _ in range(100):
        full = api.ecclEvent_t(struct_size=ctypes.sizeof(api.ecclEvent_t), value=sentinel,
                               threshold=sentinel)
        comms[0]._h.call("ecclCommPollEvent", ctypes.byref(full))
        if full.kind not in {k.value for k in ANOMALY_KINDS}:
            assert (full.stage, full.value, full.threshold) == (-1, 0.0, 0.0), full.kind
            assert bytes(full.link_to.bytes) == bytes(16), full.kind
        if full.kind == api.ecclEventKind_t.ECCL_EVENT_NONE:
            break
    assert full.kind == api.ecclEventKind_t.ECCL_EVENT_NONE


# ---- the detectors' settings through eccl.Master ---------------------------------------

def test_bad_detector_settings_are_refused() -> None:
    for kwargs, field in (({"hung_ms": 50}, "hung_ms"), ({"link_busy_share": 2.0}, "link_busy_share"),
                          ({"straggler_factor": 0.5}, "straggler_factor")):
        try:
            eccl.Master("127.0.0.1:0", **kwargs)
        except eccl.InvalidArgument as error:
            assert field in str(error), error
        else:
            raise AssertionError(f"{kwargs} was accepted")


def test_a_hung_peer_is_evicted_by_a_master_with_short_settings() -> None:
    with eccl.Master("127.0.0.1:0", heartbeat_ms=100, hung_ms=1000,
                     anomaly_window_ms=2000) as master:
        comms = form_ring(master, "hung-python", 3)
        try:
            ok(on_all(comms, lambda c: c.all_reduce(np.ones(65536, dtype=np.float32))))
            hung = comms[2].peer_id
            outcomes: list[object] = [None, None]
            took = [0.0, 0.0]

            def enter(rank: int) -> None:
                start = time.monotonic()
                try:
                    comms[rank].all_reduce(np.ones(65536, dtype=np.float32))
                    outcomes[rank] = "returned"
                except eccl.EcclError as error:
                    outcomes[rank] = error
                took[rank] = time.monotonic() - start

            threads = [threading.Thread(target=enter, args=(r,)) for r in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert all(isinstance(o, eccl.PeerLost) for o in outcomes), outcomes
            # hung_ms, a report interval and the eviction's news: far below the 30 s deadline.
            assert max(took) < 8.0, took
            for comm in comms[:2]:
                kinds = [e.kind for e in comm.events() if e.peer == hung]
                assert eccl.EventKind.HUNG_PEER in kinds, kinds
            # The master's own view (Master.cluster_stats) holds the finding and counts it.
            def hung_found() -> bool:
                return any(f.kind == eccl.EventKind.HUNG_PEER and f.peer == hung
                           for f in master.cluster_stats().findings)

            wait_until(hung_found, timeout_s=5, what="the HUNG_PEER finding in cluster_stats()")
            stats = master.cluster_stats()
            finding = next(f for f in stats.findings if f.kind == eccl.EventKind.HUNG_PEER)
            assert finding.group == "hung-python" and finding.link_to is None
            assert finding.threshold == 1000.0 and finding.value >= finding.threshold
            assert "is hung" in finding.evidence and finding.age_ms < 60_000
            assert stats.counters["hung_peers"] >= 1 and stats.counters["anomaly_evictions"] >= 1
        finally:
            for comm in comms:
                comm.close()

