/* ecclCommGetOpStats, ecclCommGetLinkStats and ecclCommDumpState from strict
 * C99: three peers on pthreads run an all-reduce and a broadcast, and each
 * peer's flight recorder must show both with the bytes ecclOpInfo_t reported,
 * its ring neighbours and the outcome; then rank 2 skips an all-reduce, and
 * the others' records must time out waiting on rank 2 (rank 0's prev, rank
 * 1's next). Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define PEERS 3
#define COUNT 262144 /* 1 MiB of f32: the ring, not the small all-reduce */
#define HANG_TIMEOUT_MS 1500

typedef struct {
  ecclComm_t comm;
  int32_t rank;
  float data[COUNT];
  int32_t broadcast[1001];
  ecclOpInfo_t infos[3];
  ecclResult_t results[3];
} Peer;

static void* runPeer(void* arg) {
  Peer* p = (Peer*)arg;
  size_t i;
  int k;
  for (k = 0; k < 3; ++k) {
    memset(&p->infos[k], 0, sizeof(p->infos[k]));
    p->infos[k].struct_size = sizeof(ecclOpInfo_t);
  }
  for (i = 0; i < COUNT; ++i)
    p->data[i] = (float)(p->rank + 1);
  p->results[0] = ecclAllReduce(p->comm, p->data, p->data, COUNT, ecclFloat32, ecclSum, NULL, 1, -1,
                                &p->infos[0]);
  for (i = 0; i < 1001; ++i)
    p->broadcast[i] = p->rank == 0 ? (int32_t)i : -1;
  p->results[1] = ecclBroadcast(p->comm, p->broadcast, 1001, ecclInt32, 0, 2, -1, &p->infos[1]);
  return NULL;
}

/* Ranks 0 and 1 only: rank 2 never calls this op. */
static void* runHang(void* arg) {
  Peer* p = (Peer*)arg;
  p->results[2] = ecclAllReduce(p->comm, p->data, p->data, COUNT, ecclFloat32, ecclSum, NULL, 3,
                                HANG_TIMEOUT_MS, &p->infos[2]);
  return NULL;
}

static int samePeer(const ecclPeerId_t* a, const ecclPeerId_t* b) {
  return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static void checkRecords(const Peer* p, const ecclPeerId_t* ids, int after_hang) {
  ecclOpStats_t ops[8];
  size_t count = 99, i;
  const int32_t prev = (p->rank + PEERS - 1) % PEERS, next = (p->rank + 1) % PEERS;
  const size_t expected = after_hang ? 3 : 2;
  CHECK_OK(ecclCommGetOpStats(p->comm, NULL, 0, &count));
  CHECK(count == expected);
  memset(ops, 0, sizeof(ops));
  ops[0].struct_size = sizeof(ecclOpStats_t);
  CHECK_OK(ecclCommGetOpStats(p->comm, ops, 8, &count));
  CHECK(count == expected);
  CHECK(strcmp(ops[0].name, "allReduce") == 0 && ops[0].tag == 1);
  CHECK(strcmp(ops[1].name, "broadcast") == 0 && ops[1].tag == 2);
  for (i = 0; i < 2; ++i) {
    CHECK(ops[i].struct_size == sizeof(ecclOpStats_t));
    CHECK(ops[i].phase == ECCL_OP_DONE && ops[i].result == ecclSuccess);
    CHECK(ops[i].world_size == PEERS && ops[i].rank == p->rank);
    CHECK(samePeer(&ops[i].prev, &ids[prev]) && samePeer(&ops[i].next, &ids[next]));
    CHECK(ops[i].bytes_sent == p->infos[i].bytes_sent);
    CHECK(ops[i].bytes_received == p->infos[i].bytes_received);
    CHECK(ops[i].submitted_unix_ns > 0 && ops[i].submitted_unix_ns <= ops[i].started_unix_ns);
    CHECK(ops[i].started_unix_ns <= ops[i].finished_unix_ns);
  }
  /* The ring all-reduce sends 2(N-1) blocks of COUNT/N elements (rounded
   * either way: COUNT is no multiple of 3), and its op headers. */
  CHECK(ops[0].bytes_sent >= 2u * (PEERS - 1) * (COUNT / PEERS) * sizeof(float));
  CHECK(ops[0].bytes_sent <= 2u * (PEERS - 1) * (COUNT / PEERS + 1) * sizeof(float) + 1024);
  CHECK(ops[1].sequence == ops[0].sequence + 1);
  if (after_hang) {
    CHECK(strcmp(ops[2].name, "allReduce") == 0 && ops[2].tag == 3);
    CHECK(ops[2].phase == ECCL_OP_DONE && ops[2].result == ecclTimeout);
    /* Nearly all of its 1.5 s went waiting for rank 2. */
    if (p->rank == 0) CHECK(ops[2].wait_prev_ns >= 1000000000ull);
    if (p->rank == 1) CHECK(ops[2].wait_next_ns >= 1000000000ull);
  }
  /* capacity 1: the newest. */
  memset(ops, 0, sizeof(ops));
  ops[0].struct_size = sizeof(ecclOpStats_t);
  CHECK_OK(ecclCommGetOpStats(p->comm, ops, 1, &count));
  CHECK(count == 1 && ops[0].tag == (after_hang ? 3u : 2u));
}

static void checkLinks(const Peer* p, const ecclPeerId_t* ids) {
  ecclLinkStats_t links[8];
  size_t count = 0;
  const int32_t next = (p->rank + 1) % PEERS;
  int seen_next = 0;
  size_t i;
  memset(links, 0, sizeof(links));
  links[0].struct_size = sizeof(ecclLinkStats_t);
  CHECK_OK(ecclCommGetLinkStats(p->comm, links, 8, &count));
  CHECK(count >= 2);
  /* Ring neighbours first, by rank: both others in a ring of three. */
  CHECK(links[0].rank >= 0 && links[1].rank > links[0].rank);
  for (i = 0; i < 2; ++i) {
    CHECK(links[i].rank != p->rank && links[i].open == 1 && links[i].connections == 2);
    CHECK(samePeer(&links[i].peer, &ids[links[i].rank]));
    CHECK(strncmp(links[i].address, "127.0.0.1:", 10) == 0);
    if (links[i].rank == next) {
      seen_next = 1;
      CHECK(links[i].bytes_sent >= p->infos[0].bytes_sent);
      CHECK(links[i].send_bytes_per_s > 0.0);
    }
  }
  CHECK(seen_next);
}

static void checkDump(const Peer* p) {
  char text[16384], small[8];
  size_t length = 0, small_length = 0;
  CHECK_OK(ecclCommDumpState(p->comm, text, sizeof(text), &length));
  CHECK(length == strlen(text));
  CHECK(strstr(text, "allReduce tag 1") != NULL && strstr(text, "broadcast tag 2") != NULL);
  CHECK(strstr(text, "links (") != NULL && strstr(text, "(next)") != NULL);
  CHECK_OK(ecclCommDumpState(p->comm, small, sizeof(small), &small_length));
  CHECK(small_length == length && strlen(small) == sizeof(small) - 1);
  CHECK(strncmp(small, text, sizeof(small) - 1) == 0);
  CHECK_OK(ecclCommDumpState(p->comm, NULL, 0, NULL));
}

static void checkErrors(ecclComm_t comm) {
  ecclOpStats_t op;
  ecclLinkStats_t link;
  size_t count;
  memset(&op, 0, sizeof(op));
  CHECK(ecclCommGetOpStats(NULL, NULL, 0, &count) == ecclInvalidArgument);
  CHECK(ecclCommGetOpStats(comm, NULL, 0, NULL) == ecclInvalidArgument);
  CHECK(ecclCommGetOpStats(comm, NULL, 4, &count) == ecclInvalidArgument);
  op.struct_size = 8; /* shorter than any version */
  CHECK(ecclCommGetOpStats(comm, &op, 1, &count) == ecclInvalidArgument);
  memset(&link, 0, sizeof(link));
  link.struct_size = sizeof(link) + 8;
  CHECK(ecclCommGetLinkStats(comm, &link, 1, &count) == ecclInvalidArgument);
  CHECK(ecclCommDumpState(comm, NULL, 4, NULL) == ecclInvalidArgument);
}

int main(void) {
  TestMaster master;
  static Peer peers[PEERS];
  ecclComm_t comms[PEERS];
  ecclPeerId_t ids[PEERS];
  pthread_t threads[PEERS];
  int r;
  if (startTestMaster(&master) != 0) return 1;
  for (r = 0; r < PEERS; ++r) {
    comms[r] = makeTestComm(&master, "observe", TIMEOUT_MS);
    CHECK(comms[r] != NULL);
  }
  CHECK_OK(ecclCommConnect(comms[0], TIMEOUT_MS));
  CHECK(joinTestRing(comms, PEERS, TIMEOUT_MS));
  for (r = 0; r < PEERS; ++r) {
    int32_t rank = -1;
    CHECK_OK(ecclCommGetAttr(comms[r], ECCL_ATTR_RANK, &rank, sizeof(rank)));
    CHECK(rank >= 0 && rank < PEERS);
    peers[rank].comm = comms[r];
    peers[rank].rank = rank;
    CHECK_OK(ecclCommGetAttr(comms[r], ECCL_ATTR_PEER_ID, &ids[rank], sizeof(ids[rank])));
  }
  checkErrors(peers[0].comm);
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);
  for (r = 0; r < PEERS; ++r) {
    CHECK(peers[r].results[0] == ecclSuccess && peers[r].results[1] == ecclSuccess);
    CHECK(peers[r].data[0] == 6.0f && peers[r].broadcast[1000] == 1000);
    checkRecords(&peers[r], ids, 0);
    checkLinks(&peers[r], ids);
    checkDump(&peers[r]);
  }
  /* SIGUSR1 logs every comm's state; without the comms' handler it would end
   * the process. */
  CHECK(raise(SIGUSR1) == 0);
  {
    struct timespec ts = {0, 200000000L};
    nanosleep(&ts, NULL);
  }
  for (r = 0; r < 2; ++r)
    CHECK(pthread_create(&threads[r], NULL, runHang, &peers[r]) == 0);
  for (r = 0; r < 2; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);
  for (r = 0; r < 2; ++r) {
    CHECK(peers[r].results[2] == ecclTimeout);
    checkRecords(&peers[r], ids, 1);
  }
  for (r = 0; r < PEERS; ++r)
    CHECK_OK(ecclCommDestroy(comms[r]));
  stopTestMaster(&master);
  if (failures == 0) printf("c_observe_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
