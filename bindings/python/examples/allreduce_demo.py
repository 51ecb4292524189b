#!/usr/bin/python3
"""ECCL from Python: a master and three peers in one process, all-reducing numpy arrays.

Run from a build tree (Debian's python3 with python3-numpy):

    ECCL_LIBRARY=build/release/lib/libeccl.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 bindings/python/examples/allreduce_demo.py

In a real job every peer is its own process (or machine) running only the
Communicator part, with the master's address in ECCL_MASTER or as argument.
"""

from __future__ import annotations

import threading
import time

import numpy as np

import eccl

PEERS = 3


def peer(master: str, results: dict[int, str]) -> None:
    """One peer: join the group, then all-reduce a few arrays."""
    with eccl.Communicator(master, "demo", listen="127.0.0.1:0", timeout_ms=10_000) as comm:
        # The first peer to register is admitted at once; the others wait in
        # connect() until the members admit them with update_topology().
        comm.connect()
        deadline = time.monotonic() + 10
        while comm.world_size < PEERS:  # only the first peer gets here: it admits the others
            if time.monotonic() > deadline:
                raise TimeoutError("the other peers did not register")
            if comm.peers_pending == PEERS - comm.world_size:
                comm.update_topology()
            else:
                time.sleep(0.01)
        rank = comm.rank

        grads = np.full(4, rank + 1, dtype=np.float32)  # in place, zero-copy
        comm.all_reduce(grads, op="sum")
        mean = comm.all_reduce(np.arange(4, dtype=np.float64) * rank, op="avg")
        gathered = comm.all_gather(np.array([rank * 10], dtype=np.int32))
        request = comm.all_reduce_async(np.ones(1_000_000, dtype=np.float32), tag=1)
        total = request.wait()[0]
        assert request.info is not None  # set once the request has completed
        results[rank] = (f"rank {rank}/{comm.world_size}: sum {grads}, avg {mean}, "
                         f"all_gather {gathered.ravel()}, async {total:.0f} "
                         f"({request.info.bytes_sent / 1e6:.1f} MB sent)")


def main() -> None:
    print(f"libeccl {'.'.join(map(str, eccl.version()))} from {eccl.library_path()}")
    with eccl.Master("127.0.0.1:0") as master:
        print(f"master on {master.address}")
        results: dict[int, str] = {}
        threads = [threading.Thread(target=peer, args=(master.address, results))
                   for _ in range(PEERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for rank in sorted(results):
            print(results[rank])
        if len(results) != PEERS:
            raise SystemExit("a peer failed")


if __name__ == "__main__":
    main()
