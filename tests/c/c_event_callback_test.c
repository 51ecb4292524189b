/* ecclCommSetEventCallback from strict C99. Peer A's callback gets
 * PEER_JOINED for B on a thread that is not the caller's, while nothing is
 * queued for ecclCommPollEvent; replacing it waits for the running call to
 * return; a callback that removes itself from inside (and whose
 * ecclCommDestroy there is refused) gets C's PEER_JOINED only, and the
 * departure after it is queued again. Only 127.0.0.1 and ephemeral ports;
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
#define GROUP "event-callback"
#define MAX_SEEN 64

typedef struct {
  pthread_mutex_t mu;
  ecclComm_t comm;
  pthread_t caller; /* the test's main thread */
  int calls, returned;
  int on_caller_thread; /* calls made on the main thread: must stay 0 */
  int rank_ok;          /* ecclCommGetAttr from inside the callback worked */
  ecclResult_t destroy_result;
  ecclEventKind_t kinds[MAX_SEEN];
  ecclPeerId_t peers[MAX_SEEN];
} Seen;

static void sleepMs(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static int samePeer(const ecclPeerId_t* a, const ecclPeerId_t* b) {
  return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static void record(Seen* seen, const ecclEvent_t* event) {
  int32_t rank = -2;
  const int ok = ecclCommGetAttr(seen->comm, ECCL_ATTR_RANK, &rank, sizeof(rank)) == ecclSuccess;
  pthread_mutex_lock(&seen->mu);
  if (seen->calls < MAX_SEEN) {
    seen->kinds[seen->calls] = event->kind;
    seen->peers[seen->calls] = event->peer;
  }
  ++seen->calls;
  if (pthread_equal(pthread_self(), seen->caller)) ++seen->on_caller_thread;
  seen->rank_ok = ok && rank >= 0;
  pthread_mutex_unlock(&seen->mu);
}

/* Records, then stays a while: replacing it must wait for it to return. */
static void slowCallback(const ecclEvent_t* event, void* user_data) {
  Seen* seen = (Seen*)user_data;
  record(seen, event);
  sleepMs(200);
  pthread_mutex_lock(&seen->mu);
  ++seen->returned;
  pthread_mutex_unlock(&seen->mu);
}

/* Records, tries to destroy its comm (refused), and removes itself. */
static void onceCallback(const ecclEvent_t* event, void* user_data) {
  Seen* seen = (Seen*)user_data;
  const ecclResult_t destroyed = ecclCommDestroy(seen->comm);
  record(seen, event);
  pthread_mutex_lock(&seen->mu);
  seen->destroy_result = destroyed;
  pthread_mutex_unlock(&seen->mu);
  CHECK_OK(ecclCommSetEventCallback(seen->comm, NULL, NULL)); /* must not deadlock */
}

static int calls(Seen* seen) {
  int n;
  pthread_mutex_lock(&seen->mu);
  n = seen->calls;
  pthread_mutex_unlock(&seen->mu);
  return n;
}

/* Polls (about 20 s at most) until `seen` holds `kind` about `peer`. */
static int waitForCall(Seen* seen, ecclEventKind_t kind, const ecclPeerId_t* peer) {
  int tries, i, found = 0;
  for (tries = 0; tries < 2000 && !found; ++tries) {
    pthread_mutex_lock(&seen->mu);
    for (i = 0; i < seen->calls && i < MAX_SEEN; ++i)
      if (seen->kinds[i] == kind && samePeer(&seen->peers[i], peer)) found = 1;
    pthread_mutex_unlock(&seen->mu);
    if (!found) sleepMs(10);
  }
  return found;
}

/* Polls the queue (about 20 s at most) until it yields `kind` about `peer`. */
static int waitForQueued(ecclComm_t comm, ecclEventKind_t kind, const ecclPeerId_t* peer) {
  int tries;
  for (tries = 0; tries < 2000; ++tries) {
    ecclEvent_t event;
    memset(&event, 0, sizeof(event));
    event.struct_size = sizeof(event);
    CHECK_OK(ecclCommPollEvent(comm, &event));
    if (event.kind == kind && samePeer(&event.peer, peer)) return 1;
    if (event.kind == ECCL_EVENT_NONE) sleepMs(10);
  }
  return 0;
}

static int queueEmpty(ecclComm_t comm) {
  ecclEvent_t event;
  memset(&event, 0, sizeof(event));
  event.struct_size = sizeof(event);
  CHECK_OK(ecclCommPollEvent(comm, &event));
  return event.kind == ECCL_EVENT_NONE;
}

typedef struct {
  ecclComm_t comm;
  ecclResult_t result;
} Update;

static void* runUpdate(void* arg) {
  Update* u = (Update*)arg;
  u->result = ecclCommUpdateTopology(u->comm, -1);
  return NULL;
}

static void* runConnect(void* arg) {
  Update* u = (Update*)arg;
  u->result = ecclCommConnect(u->comm, TIMEOUT_MS);
  return NULL;
}

static void initSeen(Seen* seen, ecclComm_t comm) {
  memset(seen, 0, sizeof(*seen));
  pthread_mutex_init(&seen->mu, NULL);
  seen->comm = comm;
  seen->caller = pthread_self();
  seen->destroy_result = ecclSuccess;
}

int main(void) {
  TestMaster master;
  ecclComm_t comms[3]; /* A, B, C */
  ecclPeerId_t ids[3];
  static Seen slow, once, last;
  Update connect_c, update_b;
  pthread_t thread_c, thread_b;
  int r, slow_calls;
  if (startTestMaster(&master) != 0) return 1;
  for (r = 0; r < 3; ++r) {
    comms[r] = makeTestComm(&master, GROUP, TIMEOUT_MS);
    CHECK(comms[r] != NULL);
    CHECK_OK(ecclCommGetAttr(comms[r], ECCL_ATTR_PEER_ID, &ids[r], sizeof(ids[r])));
  }
  CHECK(ecclCommSetEventCallback(NULL, slowCallback, NULL) == ecclInvalidArgument);
  initSeen(&slow, comms[0]);
  initSeen(&once, comms[0]);

  /* A alone, its callback set; B joins: A's callback hears of it, not its queue. */
  CHECK_OK(ecclCommConnect(comms[0], TIMEOUT_MS));
  CHECK_OK(ecclCommSetEventCallback(comms[0], slowCallback, &slow));
  CHECK(joinTestRing(comms, 2, TIMEOUT_MS));
  CHECK(waitForCall(&slow, ECCL_EVENT_PEER_JOINED, &ids[1]));
  CHECK(queueEmpty(comms[0]));
  /* Replacing it while it runs (it sleeps 200 ms) returns once it has returned. */
  CHECK_OK(ecclCommSetEventCallback(comms[0], onceCallback, &once));
  pthread_mutex_lock(&slow.mu);
  CHECK(slow.returned == slow.calls);
  slow_calls = slow.calls;
  CHECK(slow.on_caller_thread == 0 && slow.rank_ok);
  pthread_mutex_unlock(&slow.mu);

  /* C registers: the once-callback gets its PEER_JOINED and removes itself. */
  connect_c.comm = comms[2];
  CHECK(pthread_create(&thread_c, NULL, runConnect, &connect_c) == 0);
  CHECK(waitForCall(&once, ECCL_EVENT_PEER_JOINED, &ids[2]));
  CHECK(waitForPending(comms[0], 1));
  update_b.comm = comms[1];
  CHECK(pthread_create(&thread_b, NULL, runUpdate, &update_b) == 0);
  CHECK_OK(ecclCommUpdateTopology(comms[0], -1));
  CHECK(pthread_join(thread_b, NULL) == 0 && update_b.result == ecclSuccess);
  CHECK(pthread_join(thread_c, NULL) == 0 && connect_c.result == ecclSuccess);
  pthread_mutex_lock(&once.mu);
  CHECK(once.destroy_result == ecclInvalidUsage);
  pthread_mutex_unlock(&once.mu);

  /* Removed: C's departure is queued again, and no callback hears of it. */
  CHECK_OK(ecclCommDestroy(comms[2]));
  CHECK(waitForQueued(comms[0], ECCL_EVENT_PEER_LEFT, &ids[2]));
  CHECK(calls(&once) == 1 && calls(&slow) == slow_calls);
  pthread_mutex_lock(&once.mu);
  CHECK(once.on_caller_thread == 0 && once.rank_ok);
  pthread_mutex_unlock(&once.mu);

  /* A callback set at Destroy is removed by it, without waiting for events. */
  initSeen(&last, comms[1]);
  CHECK_OK(ecclCommSetEventCallback(comms[1], slowCallback, &last));
  CHECK_OK(ecclCommDestroy(comms[1]));
  CHECK_OK(ecclCommDestroy(comms[0]));
  stopTestMaster(&master);
  pthread_mutex_destroy(&slow.mu);
  pthread_mutex_destroy(&once.mu);
  pthread_mutex_destroy(&last.mu);
  if (failures == 0) printf("c_event_callback_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
