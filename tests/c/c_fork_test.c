/* A fork()ed child's copies of its parent's handles: every call on them fails
 * at once with ecclInvalidUsage, Destroy/Free only forget them, and the parent
 * (whose comm has an op in flight across the fork) carries on as if nothing
 * happened: the op completes with exact sums, nobody left or was lost.
 * Three comms of one process on 127.0.0.1 (shared memory between them), a
 * master on a thread; the child is waited for with a deadline, then killed. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "c_cluster.h"

#define N 3
#define COUNT 4099 /* odd: not a multiple of the ring size */
#define TIMEOUT_MS 30000
#define CHILD_DEADLINE_S 20

static double nowSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A call on an inherited handle: refused, saying why. */
#define CHECK_REFUSED(call)                                                              \
  do {                                                                                   \
    ecclResult_t refused_ = (call);                                                      \
    CHECK(refused_ == ecclInvalidUsage);                                                 \
    if (refused_ == ecclInvalidUsage) CHECK(strstr(ecclGetLastError(), "fork") != NULL); \
  } while (0)

/* What the child does with its parent's handles; returns its exit status. */
static int useInheritedHandles(TestMaster* m, ecclComm_t* comms, ecclRequest_t inflight) {
  float values[8] = {0};
  int32_t rank = 0, done = 0, pending = 0;
  uint16_t port = 0;
  ecclEvent_t event;
  int r;
  const double started = nowSeconds();
  memset(&event, 0, sizeof(event));
  event.struct_size = sizeof(event);
  CHECK_REFUSED(
      ecclAllReduce(comms[0], values, values, 8, ecclFloat32, ecclSum, NULL, 1, 1000, NULL));
  CHECK_REFUSED(ecclBarrier(comms[1], 2, 1000, NULL));
  CHECK_REFUSED(ecclCommGetAttr(comms[1], ECCL_ATTR_RANK, &rank, sizeof(rank)));
  CHECK_REFUSED(ecclCommPeersPending(comms[2], &pending));
  CHECK_REFUSED(ecclCommPollEvent(comms[2], &event));
  CHECK_REFUSED(ecclCommUpdateTopology(comms[2], 1000));
  CHECK_REFUSED(ecclCommAbort(comms[2])); /* would abort the parent's comm */
  CHECK_REFUSED(ecclTest(inflight, &done, NULL));
  CHECK_REFUSED(ecclWait(inflight, NULL)); /* nothing here would ever complete it */
  CHECK_REFUSED(ecclMasterGetPort(m->master, &port));
  CHECK_REFUSED(ecclMasterStop(m->master)); /* would stop the parent's master */
  /* Forgotten without a leave, a close or a join of threads that are not here. */
  CHECK_OK(ecclRequestFree(inflight));
  for (r = 0; r < N; ++r)
    CHECK_OK(ecclCommDestroy(comms[r]));
  CHECK_OK(ecclMasterDestroy(m->master));
  CHECK(nowSeconds() - started < 5.0);
  return failures == 0 ? 0 : 1;
}

/* Waits for the child (killing it past the deadline); 1 if it exited with 0. */
static int childPassed(pid_t child) {
  int status = 0;
  const double deadline = nowSeconds() + CHILD_DEADLINE_S;
  struct timespec pause = {0, 10000000L};
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (nowSeconds() > deadline) {
      fprintf(stderr, "the child still runs after %d s (hung on an inherited handle): killed\n",
              CHILD_DEADLINE_S);
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      return 0;
    }
    nanosleep(&pause, NULL);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

typedef struct {
  ecclComm_t comm;
  float* values;
  ecclResult_t result;
} Contribution;

static void* contribute(void* arg) {
  Contribution* c = (Contribution*)arg;
  c->result = ecclAllReduce(c->comm, c->values, c->values, COUNT, ecclFloat32, ecclSum, NULL, 7,
                            TIMEOUT_MS, NULL);
  return NULL;
}

static void fillRankValues(ecclComm_t comm, float* values) {
  int32_t rank = -1;
  size_t i;
  CHECK_OK(ecclCommGetAttr(comm, ECCL_ATTR_RANK, &rank, sizeof(rank)));
  for (i = 0; i < COUNT; ++i)
    values[i] = (float)((rank + 1) * (int)(i % 97));
}

static int exactSums(const float* values) {
  size_t i;
  for (i = 0; i < COUNT; ++i) {
    if (values[i] != (float)(N * (N + 1) / 2 * (int)(i % 97))) return 0;
  }
  return 1;
}

/* No peer of the ring left, was lost or evicted. */
static void checkNobodyLeft(ecclComm_t comm) {
  ecclEvent_t event;
  int32_t world = 0;
  int polls;
  for (polls = 0; polls < 1000; ++polls) {
    memset(&event, 0, sizeof(event));
    event.struct_size = sizeof(event);
    CHECK_OK(ecclCommPollEvent(comm, &event));
    if (event.kind == ECCL_EVENT_NONE) break;
    CHECK(event.kind != ECCL_EVENT_PEER_LEFT && event.kind != ECCL_EVENT_PEER_LOST &&
          event.kind != ECCL_EVENT_PEER_EVICTED);
  }
  CHECK_OK(ecclCommGetAttr(comm, ECCL_ATTR_WORLD_SIZE, &world, sizeof(world)));
  CHECK(world == N);
}

int main(void) {
  TestMaster m;
  ecclCommConfig_t config;
  ecclComm_t comms[N];
  float* values[N];
  Contribution others[N];
  pthread_t threads[N];
  ecclRequest_t inflight = NULL;
  pid_t child;
  int r;

  CHECK(startTestMaster(&m) == 0);
  initTestConfig(&m, "forked", TIMEOUT_MS, &config);
  CHECK(createTestRing(&config, comms, N, TIMEOUT_MS));
  CHECK(allReduceExactOnRing(comms, N, COUNT, TIMEOUT_MS));
  if (failures != 0) return 1;
  for (r = 0; r < N; ++r) {
    values[r] = (float*)malloc(COUNT * sizeof(float));
    CHECK(values[r] != NULL);
    if (values[r] == NULL) return 1;
    fillRankValues(comms[r], values[r]);
  }
  /* In flight across the fork: its peers join only after the child is gone. */
  CHECK_OK(ecclAllReduceAsync(comms[0], values[0], values[0], COUNT, ecclFloat32, ecclSum, NULL, 7,
                              TIMEOUT_MS, &inflight));

  child = fork();
  CHECK(child >= 0);
  if (child == 0) _exit(useInheritedHandles(&m, comms, inflight));
  CHECK(childPassed(child));

  for (r = 1; r < N; ++r) {
    others[r].comm = comms[r];
    others[r].values = values[r];
    others[r].result = ecclInternalError;
    CHECK(pthread_create(&threads[r], NULL, contribute, &others[r]) == 0);
  }
  CHECK_OK(ecclWait(inflight, NULL));
  for (r = 1; r < N; ++r) {
    pthread_join(threads[r], NULL);
    CHECK(others[r].result == ecclSuccess);
  }
  for (r = 0; r < N; ++r)
    CHECK(exactSums(values[r]));
  CHECK_OK(ecclRequestFree(inflight));
  CHECK(allReduceExactOnRing(comms, N, COUNT, TIMEOUT_MS));
  for (r = 0; r < N; ++r)
    checkNobodyLeft(comms[r]);

  for (r = 0; r < N; ++r)
    free(values[r]);
  destroyTestRing(comms, N);
  stopTestMaster(&m);
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
