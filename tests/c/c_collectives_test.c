/* ecclBroadcast, ecclAllGather(V), ecclReduceScatter(V), ecclAllToAll and ecclBarrier from
 * strict C99: three peers on pthreads, exact int32 results, uneven and empty
 * blocks, argument errors. Only 127.0.0.1 and ephemeral ports; every wait is
 * bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define PEERS 3
#define EACH 1001 /* elements per rank in the equal-block forms */

/* Uneven blocks: rank 1 contributes nothing. */
static const size_t kCounts[PEERS] = {2, 0, 5};
static const size_t kTotal = 7;

typedef struct {
  ecclComm_t comm;
  int32_t rank;
  int32_t broadcast[EACH];
  int32_t gathered[PEERS * EACH];
  int32_t gathered_v[7];
  int32_t scattered[EACH];
  int32_t scattered_v[5];
  int32_t exchanged[PEERS * EACH];
  int32_t batch_a[3];
  int32_t batch_b[EACH];
  ecclResult_t results[8];
} Peer;

static int32_t value(int32_t rank, size_t i) {
  return rank * 100000 + (int32_t)i;
}

static void* runPeer(void* arg) {
  Peer* p = (Peer*)arg;
  int32_t send[PEERS * EACH];
  size_t i;
  for (i = 0; i < EACH; ++i)
    p->broadcast[i] = p->rank == 1 ? value(7, i) : -1;
  p->results[0] = ecclBroadcast(p->comm, p->broadcast, EACH, ecclInt32, 1, 1, -1, NULL);
  for (i = 0; i < EACH; ++i)
    send[i] = value(p->rank, i);
  p->results[1] = ecclAllGather(p->comm, send, p->gathered, EACH, ecclInt32, 2, -1, NULL);
  for (i = 0; i < kCounts[p->rank]; ++i)
    send[i] = value(p->rank, i);
  p->results[2] =
      ecclAllGatherV(p->comm, send, p->gathered_v, kCounts, PEERS, ecclInt32, 3, -1, NULL);
  for (i = 0; i < PEERS * EACH; ++i)
    send[i] = value(p->rank, i);
  p->results[3] =
      ecclReduceScatter(p->comm, send, p->scattered, EACH, ecclInt32, ecclSum, 4, -1, NULL);
  for (i = 0; i < kTotal; ++i)
    send[i] = value(p->rank, i);
  p->results[4] = ecclReduceScatterV(p->comm, send, p->scattered_v, kCounts, PEERS, ecclInt32,
                                     ecclMax, 5, -1, NULL);
  p->results[5] = ecclBarrier(p->comm, 6, -1, NULL);
  for (i = 0; i < PEERS * EACH; ++i)
    send[i] = value(p->rank, i); /* block j: value(rank, j * EACH + i) */
  p->results[6] = ecclAllToAll(p->comm, send, p->exchanged, EACH, ecclInt32, 7, -1, NULL);
  {
    ecclTensor_t tensors[2];
    for (i = 0; i < 3; ++i)
      p->batch_a[i] = value(p->rank, i);
    for (i = 0; i < EACH; ++i)
      send[i] = value(p->rank, 10 + i);
    tensors[0].sendbuf = p->batch_a; /* in place */
    tensors[0].recvbuf = p->batch_a;
    tensors[0].count = 3;
    tensors[1].sendbuf = send;
    tensors[1].recvbuf = p->batch_b;
    tensors[1].count = EACH;
    p->results[7] = ecclAllReduceBatch(p->comm, tensors, 2, ecclInt32, ecclSum, NULL, 8, -1, NULL);
  }
  return NULL;
}

static void checkErrors(ecclComm_t comm) {
  int32_t buf[4] = {0};
  size_t counts[1] = {1};
  CHECK(ecclBroadcast(NULL, buf, 4, ecclInt32, 0, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclBroadcast(comm, buf, 4, ecclInt32, -1, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclBroadcast(comm, buf, 4, ecclInt32, 5, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclAllGather(comm, buf, buf, 1, (ecclDataType_t)99, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclAllGatherV(comm, buf, buf, NULL, 1, ecclInt32, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclAllGatherV(comm, buf, buf, counts, 0, ecclInt32, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclReduceScatter(comm, buf, buf, 1, ecclInt32, (ecclRedOp_t)9, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclBarrier(NULL, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclAllToAll(comm, NULL, buf, 1, ecclInt32, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclAllToAll(comm, buf, buf, 1, ecclInt32, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "overlap") != NULL);
}

int main(void) {
  static TestMaster master;
  pthread_t threads[PEERS];
  ecclComm_t comms[PEERS];
  static Peer peers[PEERS];
  int r, k;
  size_t i;

  if (startTestMaster(&master) != 0) return 1;
  for (r = 0; r < PEERS; ++r) {
    peers[r].comm = makeTestComm(&master, "ccollectives", TIMEOUT_MS);
    if (peers[r].comm == NULL) return 1;
  }
  /* The first forms the ring; the others join at its update. */
  CHECK_OK(ecclCommConnect(peers[0].comm, TIMEOUT_MS));
  checkErrors(peers[0].comm);
  for (r = 0; r < PEERS; ++r)
    comms[r] = peers[r].comm;
  CHECK(joinTestRing(comms, PEERS, TIMEOUT_MS));

  /* Index the peers by rank, so that peer r is rank r. */
  {
    static Peer by_rank[PEERS];
    for (r = 0; r < PEERS; ++r) {
      int32_t rank = -1;
      CHECK_OK(ecclCommGetAttr(peers[r].comm, ECCL_ATTR_RANK, &rank, sizeof(rank)));
      if (rank < 0 || rank >= PEERS) return 1;
      by_rank[rank].comm = peers[r].comm;
      by_rank[rank].rank = rank;
    }
    memcpy(peers, by_rank, sizeof(peers));
  }
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);

  for (r = 0; r < PEERS; ++r) {
    const Peer* p = &peers[r];
    int exact = 1;
    for (k = 0; k < 8; ++k) {
      if (p->results[k] != ecclSuccess)
        fprintf(stderr, "rank %d call %d: %d\n", r, k, p->results[k]);
      CHECK(p->results[k] == ecclSuccess);
    }
    for (i = 0; i < EACH; ++i)
      exact = exact && p->broadcast[i] == value(7, i);
    CHECK(exact);
    for (k = 0; k < PEERS; ++k) {
      for (i = 0; i < EACH; ++i)
        exact = exact && p->gathered[(size_t)k * EACH + i] == value(k, i);
    }
    CHECK(exact);
    /* Blocks of 2, 0 and 5 elements, back to back. */
    for (i = 0; i < 2; ++i)
      exact = exact && p->gathered_v[i] == value(0, i);
    for (i = 0; i < 5; ++i)
      exact = exact && p->gathered_v[2 + i] == value(2, i);
    CHECK(exact);
    /* Block r of the sum over ranks of value(rank, r * EACH + i). */
    for (i = 0; i < EACH; ++i) {
      const size_t at = (size_t)r * EACH + i;
      exact = exact && p->scattered[i] == value(0, at) + value(1, at) + value(2, at);
    }
    CHECK(exact);
    for (i = 0; i < 3; ++i)
      exact = exact && p->batch_a[i] == value(0, i) + value(1, i) + value(2, i);
    for (i = 0; i < EACH; ++i)
      exact = exact && p->batch_b[i] == value(0, 10 + i) + value(1, 10 + i) + value(2, 10 + i);
    CHECK(exact);
    /* Block k came from rank k: its block for rank r. */
    for (k = 0; k < PEERS; ++k) {
      for (i = 0; i < EACH; ++i)
        exact = exact && p->exchanged[(size_t)k * EACH + i] == value(k, (size_t)r * EACH + i);
    }
    CHECK(exact);
    /* Max over ranks: rank 2's value; rank 0 owns elements 0..1, rank 2 elements 2..6. */
    if (r == 0) {
      for (i = 0; i < 2; ++i)
        exact = exact && p->scattered_v[i] == value(2, i);
    } else if (r == 2) {
      for (i = 0; i < 5; ++i)
        exact = exact && p->scattered_v[i] == value(2, 2 + i);
    }
    CHECK(exact);
  }

  for (r = PEERS - 1; r >= 0; --r)
    CHECK_OK(ecclCommDestroy(peers[r].comm));
  stopTestMaster(&master);

  if (failures == 0) printf("c_collectives_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
