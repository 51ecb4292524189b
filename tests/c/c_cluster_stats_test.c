/* ecclMasterGetClusterStats from strict C99, while ecclMasterRun serves on its
 * own thread: three peers on pthreads run all-reduces, and the master's
 * snapshot must show the three accepted peers with their ops, their ring
 * links moving bytes, and its counters; arrays that are too small say how
 * many there are; bad arguments are refused without writing anything. Then
 * rank 2 skips an all-reduce: the master (hung_ms 1000) finds it hung, and
 * the snapshot must hold that finding. Only 127.0.0.1 and ephemeral ports;
 * every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define PEERS 3
#define OPS 4
#define COUNT 262144 /* 1 MiB of f32: the ring, not the small all-reduce */
#define GROUP "cluster-stats"
#define MAX_ITEMS 64

typedef struct {
  ecclComm_t comm;
  float data[COUNT];
  ecclResult_t result;
  int ops;
} Peer;

static void* runOps(void* arg) {
  Peer* p = (Peer*)arg;
  int k;
  p->result = ecclSuccess;
  for (k = 0; k < p->ops && p->result == ecclSuccess; ++k) {
    p->result = ecclAllReduce(p->comm, p->data, p->data, COUNT, ecclFloat32, ecclSum, NULL,
                              (uint64_t)k + 1, -1, NULL);
  }
  return NULL;
}

static int samePeer(const ecclPeerId_t* a, const ecclPeerId_t* b) {
  return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static void sleepMs(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* One snapshot, with room for every item. */
typedef struct {
  ecclClusterStats_t stats;
  ecclPeerHealth_t peers[MAX_ITEMS];
  ecclLinkHealth_t links[MAX_ITEMS];
  ecclAnomalyFinding_t findings[MAX_ITEMS];
  size_t npeers, nlinks, nfindings;
} Snapshot;

static ecclResult_t takeSnapshot(ecclMaster_t master, Snapshot* s) {
  memset(s, 0, sizeof(*s));
  s->stats.struct_size = sizeof(s->stats);
  s->peers[0].struct_size = sizeof(s->peers[0]);
  s->links[0].struct_size = sizeof(s->links[0]);
  s->findings[0].struct_size = sizeof(s->findings[0]);
  return ecclMasterGetClusterStats(master, &s->stats, s->peers, MAX_ITEMS, &s->npeers, s->links,
                                   MAX_ITEMS, &s->nlinks, s->findings, MAX_ITEMS, &s->nfindings);
}

static const ecclPeerHealth_t* findPeer(const Snapshot* s, const ecclPeerId_t* id) {
  size_t i;
  for (i = 0; i < s->npeers && i < MAX_ITEMS; ++i)
    if (samePeer(&s->peers[i].peer, id)) return &s->peers[i];
  return NULL;
}

static const ecclLinkHealth_t* findLink(const Snapshot* s, const ecclPeerId_t* from,
                                        const ecclPeerId_t* to) {
  size_t i;
  for (i = 0; i < s->nlinks && i < MAX_ITEMS; ++i)
    if (samePeer(&s->links[i].from, from) && samePeer(&s->links[i].to, to)) return &s->links[i];
  return NULL;
}

/* Whether the snapshot shows the ring's peers done with `ops` ops and every
 * ring link (rank r to r + 1) reported, carrying bytes if `moving`. */
static int ringSeen(const Snapshot* s, const ecclPeerId_t* ids, uint64_t ops, int moving) {
  int r;
  if (s->npeers != PEERS) return 0;
  for (r = 0; r < PEERS; ++r) {
    const ecclPeerHealth_t* peer = findPeer(s, &ids[r]);
    const ecclLinkHealth_t* link = findLink(s, &ids[r], &ids[(r + 1) % PEERS]);
    if (peer == NULL || peer->ops_completed < ops || link == NULL) return 0;
    if (moving && !(link->bytes_per_s > 0.0)) return 0;
  }
  return 1;
}

/* Polls the master (about 20 s at most) until ringSeen; the last snapshot in *s. */
static int waitForRing(ecclMaster_t master, const ecclPeerId_t* ids, uint64_t ops, int moving,
                       Snapshot* s) {
  int tries;
  for (tries = 0; tries < 400; ++tries) {
    CHECK_OK(takeSnapshot(master, s));
    if (ringSeen(s, ids, ops, moving)) return 1;
    sleepMs(50);
  }
  return 0;
}

static void checkRing(const Snapshot* s, const ecclPeerId_t* ids) {
  int r;
  CHECK(s->stats.struct_size == sizeof(ecclClusterStats_t));
  CHECK(s->stats.registrations >= PEERS && s->stats.commits >= 1);
  CHECK(s->stats.heartbeats > 0 && s->stats.peer_reports > 0);
  CHECK(s->stats.hung_peers == 0 && s->stats.evictions == 0);
  CHECK(s->nfindings == 0);
  CHECK(s->nlinks >= PEERS);
  for (r = 0; r < PEERS; ++r) {
    const ecclPeerHealth_t* peer = findPeer(s, &ids[r]);
    const ecclLinkHealth_t* link = findLink(s, &ids[r], &ids[(r + 1) % PEERS]);
    CHECK(peer != NULL && link != NULL);
    if (peer != NULL) {
      CHECK(peer->struct_size == sizeof(ecclPeerHealth_t));
      CHECK(strcmp(peer->group, GROUP) == 0);
      CHECK(peer->ops_completed >= OPS && peer->ops_failed == 0);
      CHECK(!peer->hung && !peer->straggler && !peer->slow_node);
    }
    if (link != NULL) {
      CHECK(link->struct_size == sizeof(ecclLinkHealth_t));
      CHECK(strcmp(link->group, GROUP) == 0);
      CHECK(link->busy_share >= 0.0 && link->busy_share <= 1.0);
      CHECK(!link->slow && !link->frozen);
    }
  }
}

/* Arrays smaller than the snapshot: the counts say how many, the rest is untouched. */
static void checkSmallArrays(ecclMaster_t master) {
  ecclClusterStats_t stats;
  ecclPeerHealth_t peers[2];
  ecclLinkHealth_t link;
  size_t npeers = 0, nlinks = 0, nfindings = 99;
  memset(&stats, 0, sizeof(stats));
  memset(peers, 0, sizeof(peers));
  memset(&link, 0x5a, sizeof(link));
  stats.struct_size = sizeof(stats);
  peers[0].struct_size = sizeof(peers[0]);
  peers[1].ops_completed = 12345; /* past capacity 1: must stay */
  link.struct_size = sizeof(link);
  CHECK_OK(ecclMasterGetClusterStats(master, &stats, peers, 1, &npeers, &link, 0, &nlinks, NULL, 0,
                                     &nfindings));
  CHECK(npeers == PEERS && nlinks >= PEERS && nfindings == 0);
  CHECK(peers[0].struct_size == sizeof(peers[0]) && strcmp(peers[0].group, GROUP) == 0);
  CHECK(peers[1].ops_completed == 12345);
  CHECK(link.frozen == 0x5a5a5a5a); /* capacity 0: not written */
  CHECK(stats.registrations >= PEERS);
}

static void checkErrors(ecclMaster_t master) {
  ecclClusterStats_t stats;
  ecclPeerHealth_t peer;
  ecclAnomalyFinding_t finding;
  size_t n1 = 7, n2 = 7, n3 = 7;
  memset(&stats, 0, sizeof(stats));
  memset(&peer, 0, sizeof(peer));
  memset(&finding, 0, sizeof(finding));
  stats.struct_size = sizeof(stats);
  CHECK(ecclMasterGetClusterStats(NULL, &stats, NULL, 0, &n1, NULL, 0, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  CHECK(ecclMasterGetClusterStats(master, NULL, NULL, 0, &n1, NULL, 0, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  CHECK(ecclMasterGetClusterStats(master, &stats, NULL, 0, NULL, NULL, 0, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "peers count is NULL") != NULL);
  CHECK(ecclMasterGetClusterStats(master, &stats, NULL, 0, &n1, NULL, 0, &n2, NULL, 0, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclMasterGetClusterStats(master, &stats, NULL, 0, &n1, NULL, 4, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "links is NULL") != NULL);
  /* Bad struct sizes: of stats, and of an array's element [0]. */
  stats.struct_size = 8;
  CHECK(ecclMasterGetClusterStats(master, &stats, NULL, 0, &n1, NULL, 0, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  stats.struct_size = sizeof(stats) + 8;
  CHECK(ecclMasterGetClusterStats(master, &stats, NULL, 0, &n1, NULL, 0, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  stats.struct_size = sizeof(stats);
  peer.struct_size = sizeof(peer) - 8;
  CHECK(ecclMasterGetClusterStats(master, &stats, &peer, 1, &n1, NULL, 0, &n2, NULL, 0, &n3) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "peers[0]->struct_size") != NULL);
  finding.struct_size = 0;
  CHECK(ecclMasterGetClusterStats(master, &stats, NULL, 0, &n1, NULL, 0, &n2, &finding, 1, &n3) ==
        ecclInvalidArgument);
  /* A refused call writes nothing. */
  CHECK(n1 == 7 && n2 == 7 && n3 == 7 && stats.registrations == 0);
}

/* Polls until the snapshot holds a hung-peer finding about `hung`. */
static void checkHungFinding(ecclMaster_t master, const ecclPeerId_t* hung) {
  static Snapshot s;
  const ecclAnomalyFinding_t* found = NULL;
  int tries;
  size_t i;
  for (tries = 0; tries < 400 && found == NULL; ++tries) {
    CHECK_OK(takeSnapshot(master, &s));
    for (i = 0; i < s.nfindings && i < MAX_ITEMS; ++i)
      if (s.findings[i].kind == ECCL_EVENT_HUNG_PEER && samePeer(&s.findings[i].peer, hung))
        found = &s.findings[i];
    if (found == NULL) sleepMs(50);
  }
  CHECK(found != NULL);
  if (found == NULL) return;
  CHECK(found->struct_size == sizeof(ecclAnomalyFinding_t));
  CHECK(strcmp(found->group, GROUP) == 0);
  CHECK(found->threshold == 1000.0 && found->value >= found->threshold);
  CHECK(strstr(found->evidence, "is hung") != NULL);
  CHECK(found->age_ms < 60000);
  CHECK(s.stats.hung_peers >= 1);
}

int main(void) {
  TestMaster master;
  ecclMasterConfig_t config;
  static Peer peers[PEERS];
  static Snapshot snapshot;
  ecclComm_t comms[PEERS];
  ecclPeerId_t ids[PEERS];
  pthread_t threads[PEERS];
  int r;
  initTestMasterConfig(&config);
  config.hung_ms = 1000;
  if (startTestMasterWith(&master, &config) != 0) return 1;
  /* Before any peer: an empty snapshot, no error. */
  CHECK_OK(takeSnapshot(master.master, &snapshot));
  CHECK(snapshot.npeers == 0 && snapshot.nlinks == 0 && snapshot.nfindings == 0);
  checkErrors(master.master);

  for (r = 0; r < PEERS; ++r) {
    comms[r] = makeTestComm(&master, GROUP, TIMEOUT_MS);
    CHECK(comms[r] != NULL);
  }
  CHECK_OK(ecclCommConnect(comms[0], TIMEOUT_MS));
  CHECK(joinTestRing(comms, PEERS, TIMEOUT_MS));
  for (r = 0; r < PEERS; ++r) {
    int32_t rank = -1;
    CHECK_OK(ecclCommGetAttr(comms[r], ECCL_ATTR_RANK, &rank, sizeof(rank)));
    CHECK(rank >= 0 && rank < PEERS);
    if (rank < 0 || rank >= PEERS) return 1;
    peers[rank].comm = comms[r];
    peers[rank].ops = OPS;
    CHECK_OK(ecclCommGetAttr(comms[r], ECCL_ATTR_PEER_ID, &ids[rank], sizeof(ids[rank])));
  }
  /* A link's rate is the growth of its byte count between the master's first
   * and latest reports in the window: the ops must come after a first report. */
  CHECK(waitForRing(master.master, ids, 0, 0, &snapshot));
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_create(&threads[r], NULL, runOps, &peers[r]) == 0);
  for (r = 0; r < PEERS; ++r) {
    CHECK(pthread_join(threads[r], NULL) == 0);
    CHECK(peers[r].result == ecclSuccess);
  }

  CHECK(waitForRing(master.master, ids, OPS, 1, &snapshot));
  checkRing(&snapshot, ids);
  checkSmallArrays(master.master);

  /* Rank 2 never enters this all-reduce: the master finds it hung and evicts it. */
  for (r = 0; r < 2; ++r) {
    peers[r].ops = 1;
    CHECK(pthread_create(&threads[r], NULL, runOps, &peers[r]) == 0);
  }
  for (r = 0; r < 2; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);
  for (r = 0; r < 2; ++r)
    CHECK(peers[r].result == ecclPeerLost);
  checkHungFinding(master.master, &ids[2]);

  for (r = 0; r < PEERS; ++r)
    CHECK_OK(ecclCommDestroy(comms[r]));
  stopTestMaster(&master);
  if (failures == 0) printf("c_cluster_stats_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
