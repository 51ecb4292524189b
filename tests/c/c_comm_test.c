/* A master and two communicators through the C API, from strict C99 with
 * pthreads: join, topology update, attributes, events, leave, error paths.
 * Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "c_check.h"

#define TIMEOUT_MS 10000

static double nowSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleepMs(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static void* runMaster(void* arg) {
  static ecclResult_t result;
  result = ecclMasterRun((ecclMaster_t)arg);
  return &result;
}

typedef struct {
  ecclComm_t comm;
  ecclResult_t result;
  char error[512]; /* the calling thread's last-error text */
} BlockingCall;

static void* connectComm(void* arg) {
  BlockingCall* call = (BlockingCall*)arg;
  call->result = ecclCommConnect(call->comm, TIMEOUT_MS);
  snprintf(call->error, sizeof(call->error), "%s", ecclGetLastError());
  return NULL;
}

static ecclComm_t makeComm(const char* master_addr) {
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  CHECK_OK(ecclCommConfigInit(&config));
  config.master = master_addr;
  config.group = "ctest";
  config.listen_addr = "127.0.0.1:0";
  config.advertise_addr = NULL;
  config.connections_per_peer = 2;
  config.timeout_ms = TIMEOUT_MS;
  CHECK_OK(ecclCommCreate(&config, &comm));
  return comm;
}

static int32_t attrInt(ecclComm_t comm, ecclCommAttr_t attr) {
  int32_t value = -100;
  CHECK_OK(ecclCommGetAttr(comm, attr, &value, sizeof(value)));
  return value;
}

static uint64_t attrRevision(ecclComm_t comm) {
  uint64_t value = 0;
  CHECK_OK(ecclCommGetAttr(comm, ECCL_ATTR_REVISION, &value, sizeof(value)));
  return value;
}

static ecclPeerId_t attrPeerId(ecclComm_t comm) {
  ecclPeerId_t id;
  memset(&id, 0, sizeof(id));
  CHECK_OK(ecclCommGetAttr(comm, ECCL_ATTR_PEER_ID, &id, sizeof(id)));
  return id;
}

/* Polls until an event of `kind` about `peer` arrives, for at most seconds; 1 if it did. */
static int waitForEvent(ecclComm_t comm, ecclEventKind_t kind, const ecclPeerId_t* peer,
                        double seconds) {
  const double until = nowSeconds() + seconds;
  ecclEvent_t event;
  do {
    memset(&event, 0, sizeof(event));
    event.struct_size = sizeof(event);
    CHECK_OK(ecclCommPollEvent(comm, &event));
    if (event.kind == kind && memcmp(event.peer.bytes, peer->bytes, sizeof(peer->bytes)) == 0) {
      return 1;
    }
    if (event.kind == ECCL_EVENT_NONE) sleepMs(5);
  } while (nowSeconds() < until);
  return 0;
}

static void checkErrorPaths(ecclComm_t comm) {
  ecclComm_t none = NULL;
  int32_t rank = 0;
  int64_t too_big = 0;
  char small[4];
  char hex[33];
  ecclEvent_t event;
  ecclPeerId_t id;

  CHECK(ecclCommCreate(NULL, &none) == ecclInvalidArgument);
  CHECK(ecclGetLastError()[0] != '\0');
  CHECK(none == NULL);
  CHECK(ecclCommConnect(NULL, 0) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "comm") != NULL);
  CHECK(ecclCommGetAttr(NULL, ECCL_ATTR_RANK, &rank, sizeof(rank)) == ecclInvalidArgument);
  CHECK(ecclCommGetAttr(comm, ECCL_ATTR_RANK, NULL, sizeof(rank)) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "value") != NULL);
  CHECK(ecclMasterCreate(NULL, NULL) == ecclInvalidArgument);
  CHECK(ecclGetLastError()[0] != '\0');
  CHECK(ecclCommPeersPending(comm, NULL) == ecclInvalidArgument);
  CHECK(ecclGetLastError()[0] != '\0');

  /* Wrong sizes name the size needed. */
  CHECK(ecclCommGetAttr(comm, ECCL_ATTR_RANK, &too_big, sizeof(too_big)) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "needs size 4") != NULL);
  CHECK(ecclCommGetAttr(comm, ECCL_ATTR_GROUP, small, sizeof(small)) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "at least 6") != NULL); /* "ctest" + NUL */
  CHECK(ecclCommGetAttr(comm, (ecclCommAttr_t)99, &rank, sizeof(rank)) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "99") != NULL);

  memset(&event, 0, sizeof(event)); /* struct_size 0 */
  CHECK(ecclCommPollEvent(comm, &event) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "struct_size") != NULL);

  memset(&id, 0xab, sizeof(id));
  CHECK(ecclPeerIdToString(&id, small, sizeof(small)) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "33") != NULL);
  CHECK_OK(ecclPeerIdToString(&id, hex, sizeof(hex)));
  CHECK(strcmp(hex, "abababababababababababababababab") == 0);
}

int main(void) {
  ecclMasterConfig_t master_config;
  ecclMaster_t master = NULL;
  pthread_t master_thread;
  void* master_result = NULL;
  uint16_t port = 0;
  char master_addr[32];
  ecclComm_t first, second;
  BlockingCall joining;
  pthread_t joining_thread;
  ecclPeerId_t second_id;
  char group[16];
  int pending = 0;
  double until;

  CHECK_OK(ecclInit());
  CHECK_OK(ecclMasterConfigInit(&master_config));
  master_config.listen_addr = "127.0.0.1:0";
  master_config.heartbeat_ms = 100;
  master_config.token_key_file = NULL;
  CHECK_OK(ecclMasterCreate(&master_config, &master));
  if (master == NULL) return 1;
  CHECK_OK(ecclMasterGetPort(master, &port));
  CHECK(port != 0);
  snprintf(master_addr, sizeof(master_addr), "127.0.0.1:%u", (unsigned)port);
  CHECK(pthread_create(&master_thread, NULL, runMaster, master) == 0);

  /* The first peer is admitted at once into the empty group. */
  first = makeComm(master_addr);
  second = makeComm(master_addr);
  if (first == NULL || second == NULL) return 1;
  CHECK_OK(ecclCommConnect(first, TIMEOUT_MS));
  CHECK(attrInt(first, ECCL_ATTR_RANK) == 0);
  CHECK(attrInt(first, ECCL_ATTR_WORLD_SIZE) == 1);
  CHECK_OK(ecclCommGetAttr(first, ECCL_ATTR_GROUP, group, sizeof(group)));
  CHECK(strcmp(group, "ctest") == 0);
  checkErrorPaths(first);

  /* The second waits as pending until the first updates the topology. Its
   * registration reaches the first as PEER_JOINED, followed by the group status
   * that counts it as pending (a pending count read before could be stale). */
  second_id = attrPeerId(second);
  joining.comm = second;
  joining.result = ecclInternalError;
  CHECK(pthread_create(&joining_thread, NULL, connectComm, &joining) == 0);
  CHECK(waitForEvent(first, ECCL_EVENT_PEER_JOINED, &second_id, 10.0));
  until = nowSeconds() + 10.0;
  while (pending < 1 && nowSeconds() < until) {
    CHECK_OK(ecclCommPeersPending(first, &pending));
    if (pending < 1) sleepMs(5);
  }
  CHECK(pending == 1);
  CHECK(attrInt(first, ECCL_ATTR_PEERS_PENDING) == 1);
  CHECK_OK(ecclCommUpdateTopology(first, -1));
  CHECK(pthread_join(joining_thread, NULL) == 0);
  CHECK(joining.result == ecclSuccess);
  if (joining.result != ecclSuccess) fprintf(stderr, "second connect: %s\n", joining.error);

  CHECK(attrInt(first, ECCL_ATTR_WORLD_SIZE) == 2);
  CHECK(attrInt(second, ECCL_ATTR_WORLD_SIZE) == 2);
  CHECK(attrInt(first, ECCL_ATTR_RANK) + attrInt(second, ECCL_ATTR_RANK) == 1);
  CHECK(attrInt(first, ECCL_ATTR_RANK) != attrInt(second, ECCL_ATTR_RANK));
  CHECK(attrRevision(first) == attrRevision(second));
  CHECK(attrRevision(first) > 0);

  /* A graceful leave reaches the first peer as PEER_LEFT. */
  CHECK_OK(ecclCommDestroy(second));
  CHECK(waitForEvent(first, ECCL_EVENT_PEER_LEFT, &second_id, 5.0));

  CHECK_OK(ecclCommDestroy(first));
  CHECK_OK(ecclCommDestroy(NULL));
  CHECK_OK(ecclMasterStop(master));
  CHECK_OK(ecclMasterStop(master)); /* idempotent */
  CHECK(pthread_join(master_thread, &master_result) == 0);
  CHECK(master_result != NULL && *(ecclResult_t*)master_result == ecclSuccess);
  CHECK_OK(ecclMasterDestroy(master));
  CHECK_OK(ecclMasterDestroy(NULL));

  if (failures == 0) printf("c_comm_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
