/* The DiLoCo loop from strict C99: three peers on pthreads run synchronous
 * rounds over two f32 tensors, a fourth joins with ecclDilocoJoin while they
 * train and ends with their parameters; three peers run delayed rounds on
 * bf16; and argument errors. With lr 1 and momentum 0, and every inner step
 * moving each parameter by exactly -1, the parameters count the rounds
 * applied: 1 - applied, exactly, on every peer. Only 127.0.0.1 and
 * ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define MAX_PEERS 4
#define SIZE_A 300
#define SIZE_B 77

typedef struct {
  ecclComm_t comm;
  ecclDiloco_t loop;
  float a[SIZE_A], b[SIZE_B];
  uint16_t half[SIZE_A]; /* bf16 */
  ecclDilocoParam_t params[2];
  ecclDilocoConfig_t config;
  ecclDilocoInfo_t info;
  ecclDataType_t dtype;
  int join; /* 1: ecclDilocoJoin (comm not connected) */
  ecclResult_t result;
} Peer;

static uint16_t bf16Of(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  return (uint16_t)(bits >> 16); /* exact for the small integers used here */
}

static void setUp(Peer* p, ecclComm_t comm, ecclDataType_t dtype, ecclDilocoMode_t mode, int join) {
  size_t i;
  p->comm = comm;
  p->loop = NULL;
  p->dtype = dtype;
  p->join = join;
  for (i = 0; i < SIZE_A; ++i) {
    p->a[i] = join ? 50.0f : 1.0f; /* a joiner's own values count for nothing */
    p->half[i] = bf16Of(1.0f);
  }
  for (i = 0; i < SIZE_B; ++i)
    p->b[i] = 1.0f;
  if (dtype == ecclBfloat16) {
    p->params[0].data = p->half;
    p->params[0].count = SIZE_A;
  } else {
    p->params[0].data = p->a;
    p->params[0].count = SIZE_A;
    p->params[1].data = p->b;
    p->params[1].count = SIZE_B;
  }
  CHECK_OK(ecclDilocoConfigInit(&p->config));
  p->config.outer_lr = 1.0f;
  p->config.outer_momentum = 0.0f;
  p->config.mode = mode;
  p->config.timeout_ms = TIMEOUT_MS;
  p->info.struct_size = sizeof(ecclDilocoInfo_t);
}

static size_t nparams(const Peer* p) {
  return p->dtype == ecclBfloat16 ? 1 : 2;
}

static void* startRun(void* arg) {
  Peer* p = (Peer*)arg;
  p->result =
      p->join ? ecclDilocoJoin(p->comm, p->params, nparams(p), p->dtype, &p->config, &p->loop)
              : ecclDilocoCreate(p->comm, p->params, nparams(p), p->dtype, &p->config, &p->loop);
  return NULL;
}

/* One inner step (-1 everywhere), then the boundary. */
static void* stepRun(void* arg) {
  Peer* p = (Peer*)arg;
  size_t i;
  for (i = 0; i < SIZE_A; ++i) {
    p->a[i] -= 1.0f;
  }
  for (i = 0; i < SIZE_B; ++i)
    p->b[i] -= 1.0f;
  if (p->dtype == ecclBfloat16) {
    for (i = 0; i < SIZE_A; ++i) {
      uint32_t bits = (uint32_t)p->half[i] << 16;
      float f;
      memcpy(&f, &bits, 4);
      p->half[i] = bf16Of(f - 1.0f);
    }
  }
  p->result = ecclDilocoStep(p->loop, &p->info);
  return NULL;
}

static void* flushRun(void* arg) {
  Peer* p = (Peer*)arg;
  p->result = ecclDilocoFlush(p->loop, &p->info);
  return NULL;
}

/* fn on peers[0..n-1] at once; 1 if every call succeeded. */
static int onAll(Peer* peers, int n, void* (*fn)(void*)) {
  pthread_t threads[MAX_PEERS];
  int i, ok = 1;
  for (i = 0; i < n; ++i)
    if (pthread_create(&threads[i], NULL, fn, &peers[i]) != 0) return 0;
  for (i = 0; i < n; ++i) {
    pthread_join(threads[i], NULL);
    if (peers[i].result != ecclSuccess) {
      fprintf(stderr, "peer %d: %s (%s)\n", i, ecclGetErrorString(peers[i].result),
              ecclGetLastError());
      ok = 0;
    }
  }
  return ok;
}

static void checkCounted(const Peer* p, uint64_t applied) {
  const float want = 1.0f - (float)applied;
  size_t i;
  int bad = 0;
  for (i = 0; i < SIZE_A; ++i) {
    if (p->dtype == ecclBfloat16 ? p->half[i] != bf16Of(want) : p->a[i] != want) ++bad;
  }
  if (p->dtype != ecclBfloat16) {
    for (i = 0; i < SIZE_B; ++i)
      if (p->b[i] != want) ++bad;
  }
  CHECK(bad == 0);
}

static void synchronousWithAJoiner(const TestMaster* m) {
  static Peer peers[MAX_PEERS];
  ecclComm_t comms[3];
  uint64_t launched = 0, applied = 0;
  int i, round, synced = 0;
  pthread_t joiner;
  for (i = 0; i < 3; ++i)
    comms[i] = makeTestComm(m, "sync", TIMEOUT_MS);
  CHECK_OK(ecclCommConnect(comms[0], TIMEOUT_MS));
  CHECK(joinTestRing(comms, 3, TIMEOUT_MS));
  for (i = 0; i < 3; ++i)
    setUp(&peers[i], comms[i], ecclFloat32, ecclDilocoSync, 0);
  CHECK(onAll(peers, 3, startRun));
  for (round = 1; round <= 2; ++round) {
    CHECK(onAll(peers, 3, stepRun));
    for (i = 0; i < 3; ++i) {
      CHECK(peers[i].info.applied == (uint64_t)round);
      CHECK(peers[i].info.contributors == 3);
    }
  }
  setUp(&peers[3], makeTestComm(m, "sync", TIMEOUT_MS), ecclFloat32, ecclDilocoSync, 1);
  CHECK(pthread_create(&joiner, NULL, startRun, &peers[3]) == 0);
  for (round = 0; round < 40 && !synced; ++round) {
    CHECK(onAll(peers, 3, stepRun));
    synced = peers[0].info.synced;
  }
  CHECK(synced);
  pthread_join(joiner, NULL);
  CHECK_OK(peers[3].result);
  CHECK(onAll(peers, 4, stepRun));
  for (i = 0; i < 4; ++i) {
    CHECK(peers[i].info.contributors == 4);
    CHECK(peers[i].info.state_revision == 2); /* the start's sync, then the join's */
  }
  CHECK_OK(ecclDilocoRounds(peers[0].loop, &launched, &applied));
  CHECK(launched == applied);
  for (i = 0; i < 4; ++i) {
    uint64_t l = 0, a = 0;
    CHECK_OK(ecclDilocoRounds(peers[i].loop, &l, &a));
    CHECK(l == launched && a == applied);
    checkCounted(&peers[i], applied);
    CHECK_OK(ecclDilocoDestroy(peers[i].loop));
    CHECK_OK(ecclCommDestroy(peers[i].comm));
  }
}

static void delayedOnBf16(const TestMaster* m) {
  static Peer peers[3];
  ecclComm_t comms[3];
  int i, round;
  for (i = 0; i < 3; ++i)
    comms[i] = makeTestComm(m, "async", TIMEOUT_MS);
  CHECK_OK(ecclCommConnect(comms[0], TIMEOUT_MS));
  CHECK(joinTestRing(comms, 3, TIMEOUT_MS));
  for (i = 0; i < 3; ++i)
    setUp(&peers[i], comms[i], ecclBfloat16, ecclDilocoAsync, 0);
  CHECK(onAll(peers, 3, startRun));
  for (round = 1; round <= 4; ++round) {
    CHECK(onAll(peers, 3, stepRun));
    CHECK(peers[0].info.round == (uint64_t)round);
    CHECK(peers[0].info.applied == (uint64_t)round - 1); /* one round late */
  }
  CHECK(onAll(peers, 3, flushRun));
  for (i = 0; i < 3; ++i) {
    CHECK(peers[i].info.applied == 4);
    checkCounted(&peers[i], 4);
    CHECK_OK(ecclDilocoDestroy(peers[i].loop));
    CHECK_OK(ecclCommDestroy(peers[i].comm));
  }
}

static void argumentErrors(const TestMaster* m) {
  ecclComm_t comm = makeTestComm(m, "args", TIMEOUT_MS);
  ecclDilocoConfig_t config;
  ecclDilocoParam_t param;
  ecclDiloco_t loop = NULL;
  float x[4] = {0, 0, 0, 0};
  ecclDilocoInfo_t info;
  param.data = x;
  param.count = 4;
  CHECK(ecclDilocoConfigInit(NULL) == ecclInvalidArgument);
  CHECK_OK(ecclDilocoConfigInit(&config));
  CHECK(config.struct_size == sizeof(config) && config.outer_lr == 0.7f &&
        config.outer_momentum == 0.9f && config.mode == ecclDilocoSync);
  CHECK(ecclDilocoCreate(comm, &param, 1, ecclFloat32, &config, NULL) == ecclInvalidArgument);
  CHECK(ecclDilocoCreate(NULL, &param, 1, ecclFloat32, &config, &loop) == ecclInvalidArgument);
  CHECK(ecclDilocoCreate(comm, NULL, 1, ecclFloat32, &config, &loop) == ecclInvalidArgument);
  CHECK(ecclDilocoCreate(comm, &param, 1, ecclFloat64, &config, &loop) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "f32 or bf16") != NULL);
  config.struct_size = 0;
  CHECK(ecclDilocoCreate(comm, &param, 1, ecclFloat32, &config, &loop) == ecclInvalidArgument);
  CHECK_OK(ecclDilocoConfigInit(&config));
  config.mode = (ecclDilocoMode_t)7;
  CHECK(ecclDilocoCreate(comm, &param, 1, ecclFloat32, &config, &loop) == ecclInvalidArgument);
  CHECK_OK(ecclDilocoConfigInit(&config));
  config.tag = (uint64_t)1 << 32;
  CHECK(ecclDilocoCreate(comm, &param, 1, ecclFloat32, &config, &loop) == ecclInvalidArgument);
  CHECK_OK(ecclDilocoConfigInit(&config));
  /* Not a ring member yet: a new peer joins instead. */
  CHECK(ecclDilocoCreate(comm, &param, 1, ecclFloat32, &config, &loop) == ecclInvalidUsage);
  CHECK(loop == NULL);
  info.struct_size = sizeof(info);
  CHECK(ecclDilocoStep(NULL, &info) == ecclInvalidArgument);
  CHECK(ecclDilocoFlush(NULL, &info) == ecclInvalidArgument);
  CHECK(ecclDilocoRounds(NULL, NULL, NULL) == ecclInvalidArgument);
  CHECK_OK(ecclDilocoDestroy(NULL));
  CHECK_OK(ecclCommDestroy(comm));
}

int main(void) {
  TestMaster m;
  if (startTestMaster(&m) != 0) return 1;
  synchronousWithAJoiner(&m);
  delayedOnBf16(&m);
  argumentErrors(&m);
  stopTestMaster(&m);
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
