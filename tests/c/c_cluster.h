/* A master on a thread of its own and communicators on 127.0.0.1 with
 * ephemeral ports, for the C test programs (strict C99 + pthreads). */
#ifndef ECCL_TESTS_C_CLUSTER_H_
#define ECCL_TESTS_C_CLUSTER_H_

#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "c_check.h"

typedef struct {
  ecclMaster_t master;
  pthread_t thread;
  ecclResult_t run_result;
  char addr[32]; /* "127.0.0.1:PORT", what communicators connect to */
} TestMaster;

static inline void* testMasterRun(void* arg) {
  TestMaster* m = (TestMaster*)arg;
  m->run_result = ecclMasterRun(m->master);
  return NULL;
}

/* The config of startTestMaster, for a test that sets more fields: 127.0.0.1,
 * a free port, heartbeat 100 ms, a random token key. */
static inline void initTestMasterConfig(ecclMasterConfig_t* config) {
  CHECK_OK(ecclMasterConfigInit(config));
  config->listen_addr = "127.0.0.1:0";
  config->heartbeat_ms = 100;
  config->token_key_file = NULL;
}

/* Creates a master of `config` and runs it on a thread; 0 on success. */
static inline int startTestMasterWith(TestMaster* m, const ecclMasterConfig_t* config) {
  uint16_t port = 0;
  m->master = NULL;
  CHECK_OK(ecclMasterCreate(config, &m->master));
  if (m->master == NULL) return -1;
  CHECK_OK(ecclMasterGetPort(m->master, &port));
  snprintf(m->addr, sizeof(m->addr), "127.0.0.1:%u", (unsigned)port);
  if (pthread_create(&m->thread, NULL, testMasterRun, m) != 0) return -1;
  return 0;
}

/* Creates the master (heartbeat 100 ms) and runs it; 0 on success. */
static inline int startTestMaster(TestMaster* m) {
  ecclMasterConfig_t config;
  initTestMasterConfig(&config);
  return startTestMasterWith(m, &config);
}

static inline void stopTestMaster(TestMaster* m) {
  CHECK_OK(ecclMasterStop(m->master));
  CHECK(pthread_join(m->thread, NULL) == 0);
  CHECK(m->run_result == ecclSuccess);
  CHECK_OK(ecclMasterDestroy(m->master));
}

/* The config of makeTestComm, for a test that sets more fields before ecclCommCreate. */
static inline void initTestConfig(const TestMaster* m, const char* group, uint32_t timeout_ms,
                                  ecclCommConfig_t* config) {
  CHECK_OK(ecclCommConfigInit(config));
  config->master = m->addr;
  config->group = group;
  config->listen_addr = "127.0.0.1:0";
  config->connections_per_peer = 2;
  config->timeout_ms = timeout_ms;
}

/* A communicator of `group` (2 connections per peer); NULL on failure. */
static inline ecclComm_t makeTestComm(const TestMaster* m, const char* group, uint32_t timeout_ms) {
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  initTestConfig(m, group, timeout_ms, &config);
  CHECK_OK(ecclCommCreate(&config, &comm));
  return comm;
}

/* Polls until `comm` counts `want` pending peers (about 20 s at most); 1 if it did. */
static inline int waitForPending(ecclComm_t comm, int want) {
  int pending = 0, tries;
  for (tries = 0; tries < 4000 && pending < want; ++tries) {
    struct timespec ts = {0, 5000000L};
    CHECK_OK(ecclCommPeersPending(comm, &pending));
    if (pending < want) nanosleep(&ts, NULL);
  }
  return pending == want;
}

typedef struct {
  ecclComm_t comm;
  uint32_t timeout_ms;
  ecclResult_t result;
} TestJoin;

static inline void* testJoinRun(void* arg) {
  TestJoin* join = (TestJoin*)arg;
  join->result = ecclCommConnect(join->comm, join->timeout_ms);
  return NULL;
}

/* comms[0] is connected (the ring's first member); comms[1..n-1] connect on
 * threads of their own and comms[0] admits them at one topology update: one
 * ring of n (at most 64). 1 if it formed. */
static inline int joinTestRing(ecclComm_t* comms, int n, uint32_t timeout_ms) {
  TestJoin joins[64];
  pthread_t threads[64];
  int r, ok;
  if (n > 64) return 0;
  for (r = 1; r < n; ++r) {
    joins[r].comm = comms[r];
    joins[r].timeout_ms = timeout_ms;
    joins[r].result = ecclInternalError;
    if (pthread_create(&threads[r], NULL, testJoinRun, &joins[r]) != 0) return 0;
  }
  ok = waitForPending(comms[0], n - 1) && ecclCommUpdateTopology(comms[0], -1) == ecclSuccess;
  for (r = 1; r < n; ++r) {
    pthread_join(threads[r], NULL);
    ok = ok && joins[r].result == ecclSuccess;
  }
  return ok;
}

/* n comms of `config` (at most 64) formed into one ring; comms[] gets every
 * comm created (NULL where not). 1 if the ring formed. */
static inline int createTestRing(const ecclCommConfig_t* config, ecclComm_t* comms, int n,
                                 uint32_t timeout_ms) {
  int r, created = 1;
  for (r = 0; r < n; ++r) {
    comms[r] = NULL;
    CHECK_OK(ecclCommCreate(config, &comms[r]));
    created = created && comms[r] != NULL;
  }
  if (!created || ecclCommConnect(comms[0], timeout_ms) != ecclSuccess) return 0;
  return joinTestRing(comms, n, timeout_ms);
}

static inline void destroyTestRing(ecclComm_t* comms, int n) {
  int r;
  for (r = 0; r < n; ++r) {
    if (comms[r] != NULL) CHECK_OK(ecclCommDestroy(comms[r]));
  }
}

typedef struct {
  ecclComm_t comm;
  float* values;
  size_t count;
  int rank;
  uint32_t timeout_ms;
  ecclResult_t result;
} TestAllReduce;

/* Rank r's element i: (r + 1) * (i % 97); their sum over n ranks is n(n+1)/2 * (i % 97). */
static inline void* testAllReduceRun(void* arg) {
  TestAllReduce* op = (TestAllReduce*)arg;
  size_t i;
  for (i = 0; i < op->count; ++i)
    op->values[i] = (float)((op->rank + 1) * (int)(i % 97));
  op->result = ecclAllReduce(op->comm, op->values, op->values, op->count, ecclFloat32, ecclSum,
                             NULL, 1, op->timeout_ms, NULL);
  return NULL;
}

/* The n comms of a ring (at most 64) all-reduce `count` f32 on threads of
 * their own; 1 if every one succeeded with the exact sums. */
static inline int allReduceExactOnRing(ecclComm_t* comms, int n, size_t count,
                                       uint32_t timeout_ms) {
  TestAllReduce ops[64];
  pthread_t threads[64];
  int r, ok = 1, started = 0;
  size_t i;
  if (n > 64) return 0;
  for (r = 0; r < n; ++r) {
    ops[r].comm = comms[r];
    ops[r].values = (float*)malloc(count * sizeof(float));
    ops[r].count = count;
    ops[r].rank = r;
    ops[r].timeout_ms = timeout_ms;
    ops[r].result = ecclInternalError;
    if (ops[r].values == NULL || pthread_create(&threads[r], NULL, testAllReduceRun, &ops[r]) != 0)
      break;
    ++started;
  }
  for (r = 0; r < started; ++r) {
    pthread_join(threads[r], NULL);
    ok = ok && ops[r].result == ecclSuccess;
    for (i = 0; i < count && ok; ++i)
      ok = ops[r].values[i] == (float)(n * (n + 1) / 2 * (int)(i % 97));
  }
  for (r = 0; r < n && r <= started; ++r)
    free(ops[r].values);
  return ok && started == n;
}

#endif /* ECCL_TESTS_C_CLUSTER_H_ */
