/* ecclSyncSharedState from strict C99: three peers on pthreads, one of them a
 * RECEIVE_ONLY joiner with zeros and one with a flipped bit: every peer ends
 * with the majority's bytes and revision; a fourth peer then joins with
 * ecclCommConnectWithState, fetching the state before its admission; a peer
 * of another group fetches it with ecclCommFetchGroupState; and argument
 * errors. Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
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
#define WEIGHTS 4099

typedef struct {
  ecclComm_t comm;
  float weights[WEIGHTS];
  int64_t step;
  uint16_t halves[7];
  ecclSharedStateEntry_t entries[3];
  ecclSharedState_t state;
  ecclSyncStrategy_t strategy;
  ecclSyncInfo_t info;
  ecclResult_t result;
} Peer;

static void fill(Peer* p, int zero) {
  size_t i;
  for (i = 0; i < WEIGHTS; ++i)
    p->weights[i] = zero ? 0.0f : (float)i * 0.5f;
  p->step = zero ? 0 : 1234;
  for (i = 0; i < 7; ++i)
    p->halves[i] = zero ? 0 : (uint16_t)(0x3c00 + i);
  /* Listed in another order than the name order: the order does not matter. */
  p->entries[0].name = "weights";
  p->entries[0].data = p->weights;
  p->entries[0].count = WEIGHTS;
  p->entries[0].dtype = ecclFloat32;
  p->entries[0].allow_content_inequality = 0;
  p->entries[1].name = "step";
  p->entries[1].data = &p->step;
  p->entries[1].count = 1;
  p->entries[1].dtype = ecclInt64;
  p->entries[1].allow_content_inequality = 0;
  p->entries[2].name = "halves";
  p->entries[2].data = p->halves;
  p->entries[2].count = 7;
  p->entries[2].dtype = ecclFloat16;
  p->entries[2].allow_content_inequality = 0;
  p->state.struct_size = sizeof(ecclSharedState_t);
  p->state.revision = zero ? 0 : 3;
  p->state.entries = p->entries;
  p->state.nentries = 3;
  p->info.struct_size = sizeof(ecclSyncInfo_t);
}

static void* runPeer(void* arg) {
  Peer* p = (Peer*)arg;
  p->result = ecclSyncSharedState(p->comm, &p->state, p->strategy, -1, &p->info);
  return NULL;
}

static void* runFetchingJoiner(void* arg) {
  Peer* p = (Peer*)arg;
  p->result = ecclCommConnectWithState(p->comm, &p->state, 0, -1, &p->info);
  return NULL;
}

static pthread_mutex_t fetch_mu = PTHREAD_MUTEX_INITIALIZER;
static int fetch_over = 0;

static void* runGroupFetch(void* arg) {
  Peer* p = (Peer*)arg;
  ecclResult_t result = ecclCommFetchGroupState(p->comm, "cstate", &p->state, 0, -1, &p->info);
  pthread_mutex_lock(&fetch_mu);
  p->result = result;
  fetch_over = 1;
  pthread_mutex_unlock(&fetch_mu);
  return NULL;
}

static void* runUpdate(void* arg) {
  Peer* p = (Peer*)arg;
  p->result = ecclCommUpdateTopology(p->comm, -1);
  return NULL;
}

/* Every member syncs once more (revision + 1) on threads of its own. */
static void syncMembers(Peer* peers, int n) {
  pthread_t threads[PEERS];
  int r;
  for (r = 0; r < n; ++r) {
    peers[r].state.revision += 1;
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  }
  for (r = 0; r < n; ++r) {
    CHECK(pthread_join(threads[r], NULL) == 0);
    CHECK(peers[r].result == ecclSuccess);
  }
}

/* A fourth peer with zeros fetches the members' state while pending: the
 * members' next sync is its snapshot; it is admitted once it holds it. */
static void joinWithState(const TestMaster* master, Peer* peers) {
  static Peer joiner;
  pthread_t joining, updates[PEERS];
  int r, round, pending = 0, serving = -1;
  joiner.comm = makeTestComm(master, "cstate", TIMEOUT_MS);
  if (joiner.comm == NULL) return;
  fill(&joiner, 1);
  CHECK(ecclCommConnectWithState(NULL, &joiner.state, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclCommConnectWithState(joiner.comm, NULL, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(pthread_create(&joining, NULL, runFetchingJoiner, &joiner) == 0);
  /* Rounds of the members until the joiner's fetch is over and it counts as pending. */
  for (round = 0; round < 40 && pending == 0; ++round) {
    struct timespec ts = {0, 100000000L};
    syncMembers(peers, PEERS);
    nanosleep(&ts, NULL);
    CHECK_OK(ecclCommPeersPending(peers[0].comm, &pending));
  }
  for (r = 0; r < PEERS; ++r)
    CHECK(waitForPending(peers[r].comm, 1));
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_create(&updates[r], NULL, runUpdate, &peers[r]) == 0);
  for (r = 0; r < PEERS; ++r) {
    CHECK(pthread_join(updates[r], NULL) == 0);
    CHECK(peers[r].result == ecclSuccess);
  }
  CHECK(pthread_join(joining, NULL) == 0);
  CHECK(joiner.result == ecclSuccess);
  CHECK(memcmp(joiner.weights, peers[0].weights, sizeof(joiner.weights)) == 0);
  CHECK(joiner.step == 1234);
  CHECK(joiner.info.bytes_received == sizeof(joiner.weights) + 8 + 14);
  CHECK(joiner.info.entries_fixed == 3);
  CHECK(joiner.state.revision == joiner.info.revision);
  CHECK(joiner.info.revision > 4);
  /* Its sources' serving threads end with their last transfer. */
  for (round = 0; round < 400 && serving != 0; ++round) {
    struct timespec ts = {0, 5000000L};
    CHECK_OK(ecclCommGetAttr(peers[0].comm, ECCL_ATTR_FETCHES_SERVING, &serving, sizeof(serving)));
    if (serving != 0) nanosleep(&ts, NULL);
  }
  CHECK(serving == 0);
  CHECK_OK(ecclCommDestroy(joiner.comm));
}

static void checkErrors(ecclComm_t comm) {
  static Peer p;
  ecclSharedStateEntry_t bad;
  fill(&p, 0);
  CHECK(ecclSyncSharedState(NULL, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclSyncSharedState(comm, NULL, ecclSyncEnforcePopular, 100, NULL) == ecclInvalidArgument);
  p.state.struct_size = 0;
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  p.state.struct_size = sizeof(ecclSharedState_t);
  CHECK(ecclSyncSharedState(comm, &p.state, (ecclSyncStrategy_t)7, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "strategy") != NULL);
  p.info.struct_size = 3;
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, &p.info) ==
        ecclInvalidArgument);
  p.info.struct_size = sizeof(ecclSyncInfo_t);
  bad = p.entries[1];
  p.entries[1].name = NULL;
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  p.entries[1].name = "weights"; /* a duplicate name */
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "appears twice") != NULL);
  p.entries[1] = bad;
  p.entries[1].dtype = (ecclDataType_t)99;
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  p.entries[1] = bad;
  p.entries[1].data = NULL;
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  p.entries[1] = bad;
  p.entries[1].data = p.weights + 1; /* overlaps "weights" */
  CHECK(ecclSyncSharedState(comm, &p.state, ecclSyncEnforcePopular, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "overlap") != NULL);
}

/* A peer of group "cother" fetches the members' state without joining them:
 * the members' next sync is its snapshot; they stay PEERS. */
static void fetchFromAnotherGroup(const TestMaster* master, Peer* peers) {
  static Peer other;
  pthread_t fetching;
  int round, over = 0, world = 0;
  other.comm = makeTestComm(master, "cother", TIMEOUT_MS);
  if (other.comm == NULL) return;
  fill(&other, 1);
  CHECK(ecclCommFetchGroupState(other.comm, "cstate", &other.state, 0, 100, NULL) ==
        ecclInvalidUsage); /* not connected yet */
  CHECK_OK(ecclCommConnect(other.comm, TIMEOUT_MS));
  CHECK(ecclCommFetchGroupState(NULL, "cstate", &other.state, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclCommFetchGroupState(other.comm, NULL, &other.state, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclCommFetchGroupState(other.comm, "cstate", NULL, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclCommFetchGroupState(other.comm, "nosuch", &other.state, 0, 5000, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "no group 'nosuch'") != NULL);
  CHECK(pthread_create(&fetching, NULL, runGroupFetch, &other) == 0);
  for (round = 0; round < 40 && !over; ++round) {
    struct timespec ts = {0, 100000000L};
    syncMembers(peers, PEERS);
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&fetch_mu);
    over = fetch_over;
    pthread_mutex_unlock(&fetch_mu);
  }
  CHECK(pthread_join(fetching, NULL) == 0);
  CHECK(other.result == ecclSuccess);
  CHECK(memcmp(other.weights, peers[0].weights, sizeof(other.weights)) == 0);
  CHECK(memcmp(other.halves, peers[0].halves, sizeof(other.halves)) == 0);
  CHECK(other.step == 1234);
  CHECK(other.info.bytes_received == sizeof(other.weights) + 8 + 14);
  CHECK(other.info.entries_fixed == 3);
  CHECK(other.state.revision == other.info.revision);
  CHECK(other.info.revision > 4 && other.info.revision <= peers[0].state.revision);
  CHECK_OK(ecclCommGetAttr(peers[0].comm, ECCL_ATTR_WORLD_SIZE, &world, sizeof(world)));
  CHECK(world == PEERS); /* the fetcher is not a member */
  CHECK_OK(ecclCommDestroy(other.comm));
}

int main(void) {
  static TestMaster master;
  static Peer peers[PEERS];
  pthread_t threads[PEERS];
  ecclComm_t comms[PEERS];
  int r;

  if (startTestMaster(&master) != 0) return 1;
  for (r = 0; r < PEERS; ++r) {
    peers[r].comm = makeTestComm(&master, "cstate", TIMEOUT_MS);
    if (peers[r].comm == NULL) return 1;
    comms[r] = peers[r].comm;
  }
  CHECK_OK(ecclCommConnect(comms[0], TIMEOUT_MS));
  checkErrors(comms[0]);
  CHECK(joinTestRing(comms, PEERS, TIMEOUT_MS));

  fill(&peers[0], 0);
  peers[0].strategy = ecclSyncEnforcePopular;
  fill(&peers[1], 0);
  peers[1].strategy = ecclSyncEnforcePopular;
  fill(&peers[2], 1); /* the joiner */
  peers[2].strategy = ecclSyncReceiveOnly;
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);
  for (r = 0; r < PEERS; ++r) {
    CHECK(peers[r].result == ecclSuccess);
    CHECK(peers[r].state.revision == 3);
    CHECK(peers[r].info.revision == 3);
    CHECK(memcmp(peers[r].weights, peers[0].weights, sizeof(peers[0].weights)) == 0);
    CHECK(peers[r].step == 1234);
    CHECK(memcmp(peers[r].halves, peers[0].halves, sizeof(peers[0].halves)) == 0);
  }
  CHECK(peers[2].info.entries_fixed == 3);
  CHECK(peers[2].info.bytes_received == sizeof(peers[0].weights) + 8 + 14);
  CHECK(peers[0].info.bytes_sent + peers[1].info.bytes_sent == peers[2].info.bytes_received);

  /* The next sync: revision 4 everywhere; one flipped value on peer 1. */
  for (r = 0; r < PEERS; ++r) {
    peers[r].state.revision = 4;
    peers[r].strategy = ecclSyncEnforcePopular;
  }
  peers[1].weights[17] = -1.0f;
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);
  for (r = 0; r < PEERS; ++r) {
    CHECK(peers[r].result == ecclSuccess);
    CHECK(peers[r].weights[17] == 8.5f);
    CHECK(peers[r].info.revision == 4);
  }
  CHECK(peers[1].info.entries_fixed == 1);
  CHECK(peers[1].info.bytes_received == sizeof(peers[0].weights));

  fetchFromAnotherGroup(&master, peers);
  joinWithState(&master, peers);

  for (r = 0; r < PEERS; ++r)
    CHECK_OK(ecclCommDestroy(comms[r]));
  stopTestMaster(&master);
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
