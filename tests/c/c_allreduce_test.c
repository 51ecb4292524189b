/* ecclAllReduce from strict C99: a master and two peers on pthreads, exact
 * int32 and float sums in and out of place, op info, argument errors, and
 * ecclAllReduceAsync with ecclTest / ecclWait / ecclRequestFree, and
 * ecclAllReduceWithRetry on the success path (its retries: agreement_test.cc).
 * Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define COUNT 1001

static void* connectComm(void* arg) {
  static ecclResult_t result;
  result = ecclCommConnect((ecclComm_t)arg, TIMEOUT_MS);
  return &result;
}

/* One peer's part of the test: two all-reduces with its own values. */
typedef struct {
  ecclComm_t comm;
  int rank;
  int32_t ints[COUNT];
  float floats_in[COUNT];
  float floats_out[COUNT];
  ecclOpInfo_t info;
  ecclResult_t int_result;
  ecclResult_t float_result;
  int32_t maxes[COUNT];
  ecclResult_t async_result; /* what ecclTest reported once done */
  ecclResult_t wait_result;
  int32_t retried[COUNT];
  uint32_t attempts;
  ecclResult_t retry_result;
  int polls;
  char error[512];
} Peer;

static void* runPeer(void* arg) {
  Peer* p = (Peer*)arg;
  int i;
  for (i = 0; i < COUNT; ++i) {
    p->ints[i] = (p->rank + 1) * 1000 + i; /* in place */
    p->floats_in[i] = (float)(p->rank * 3 + i % 7);
    p->floats_out[i] = -1.0f;
  }
  p->int_result =
      ecclAllReduce(p->comm, p->ints, p->ints, COUNT, ecclInt32, ecclSum, NULL, 1, -1, NULL);
  if (p->int_result != ecclSuccess) snprintf(p->error, sizeof(p->error), "%s", ecclGetLastError());
  memset(&p->info, 0, sizeof(p->info));
  p->info.struct_size = sizeof(p->info);
  p->float_result = ecclAllReduce(p->comm, p->floats_in, p->floats_out, COUNT, ecclFloat32, ecclSum,
                                  NULL, 2, TIMEOUT_MS, &p->info);
  if (p->float_result != ecclSuccess) {
    snprintf(p->error, sizeof(p->error), "%s", ecclGetLastError());
  }
  {
    ecclRequest_t request = NULL;
    int done = 0;
    for (i = 0; i < COUNT; ++i)
      p->maxes[i] = p->rank == 0 ? i : COUNT - i;
    p->async_result = ecclAllReduceAsync(p->comm, p->maxes, p->maxes, COUNT, ecclInt32, ecclMax,
                                         NULL, 3, -1, &request);
    if (p->async_result != ecclSuccess) return NULL;
    /* Poll (bounded: about 20 s), then wait: both report the op's result. */
    for (p->polls = 0; p->polls < 20000 && !done; ++p->polls) {
      struct timespec ts = {0, 1000000L};
      p->async_result = ecclTest(request, &done, NULL);
      if (!done) nanosleep(&ts, NULL);
    }
    p->wait_result = ecclWait(request, NULL);
    if (ecclRequestFree(request) != ecclSuccess) p->wait_result = ecclInternalError;
  }
  for (i = 0; i < COUNT; ++i)
    p->retried[i] = p->rank + 1;
  p->retry_result = ecclAllReduceWithRetry(p->comm, p->retried, p->retried, COUNT, ecclInt32,
                                           ecclSum, NULL, 4, -1, 3, &p->attempts, NULL);
  return NULL;
}

static void checkErrors(ecclComm_t comm) {
  float buf[4] = {0};
  ecclQuantConfig_t quant;
  ecclOpInfo_t info;
  CHECK(ecclAllReduce(NULL, buf, buf, 4, ecclFloat32, ecclSum, NULL, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "comm") != NULL);
  /* Quantization's own checks: c_quant_allreduce_test.c. */
  memset(&quant, 0, sizeof(quant)); /* struct_size 0 */
  CHECK(ecclAllReduce(comm, buf, buf, 4, ecclFloat32, ecclSum, &quant, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "quant->struct_size") != NULL);
  CHECK(ecclAllReduce(comm, buf, buf, 4, (ecclDataType_t)12, ecclSum, NULL, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "dtype 12") != NULL);
  CHECK(ecclAllReduce(comm, buf, buf, 4, ecclFloat32, (ecclRedOp_t)5, NULL, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclAllReduce(comm, NULL, buf, 4, ecclFloat32, ecclSum, NULL, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclAllReduce(comm, buf, buf, 4, ecclFloat32, ecclSum, NULL, (uint64_t)1 << 32, 100,
                      NULL) == ecclInvalidArgument);
  memset(&info, 0, sizeof(info)); /* struct_size 0 */
  CHECK(ecclAllReduce(comm, buf, buf, 4, ecclFloat32, ecclSum, NULL, 0, 100, &info) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "struct_size") != NULL);
  {
    ecclRequest_t request = (ecclRequest_t)&info; /* overwritten with NULL on failure */
    int done = 0;
    CHECK(ecclAllReduceAsync(comm, NULL, buf, 4, ecclFloat32, ecclSum, NULL, 0, 100, &request) ==
          ecclInvalidArgument);
    CHECK(request == NULL);
    CHECK(ecclAllReduceAsync(comm, buf, buf, 4, ecclFloat32, ecclSum, NULL, 0, 100, NULL) ==
          ecclInvalidArgument);
    CHECK(ecclTest(NULL, &done, NULL) == ecclInvalidArgument);
    CHECK(ecclWait(NULL, NULL) == ecclInvalidArgument);
    CHECK_OK(ecclRequestFree(NULL));
  }
  {
    uint32_t attempts = 7;
    CHECK(ecclAllReduceWithRetry(comm, buf, buf, 4, ecclFloat32, ecclSum, NULL, 0, 100, 0,
                                 &attempts, NULL) == ecclInvalidArgument);
    CHECK(strstr(ecclGetLastError(), "max_attempts") != NULL);
    CHECK(attempts == 0);
  }
}

int main(void) {
  static TestMaster master;
  pthread_t threads[2];
  void* result = NULL;
  static Peer peers[2];
  int i, r;

  if (startTestMaster(&master) != 0) return 1;
  peers[0].comm = makeTestComm(&master, "callreduce", TIMEOUT_MS);
  peers[1].comm = makeTestComm(&master, "callreduce", TIMEOUT_MS);
  if (peers[0].comm == NULL || peers[1].comm == NULL) return 1;
  /* The first forms the ring; the second joins at the first's update. */
  CHECK_OK(ecclCommConnect(peers[0].comm, TIMEOUT_MS));
  checkErrors(peers[0].comm);
  CHECK(pthread_create(&threads[1], NULL, connectComm, peers[1].comm) == 0);
  CHECK(waitForPending(peers[0].comm, 1));
  CHECK_OK(ecclCommUpdateTopology(peers[0].comm, -1));
  CHECK(pthread_join(threads[1], &result) == 0);
  CHECK(result != NULL && *(ecclResult_t*)result == ecclSuccess);

  for (r = 0; r < 2; ++r) {
    CHECK_OK(ecclCommGetAttr(peers[r].comm, ECCL_ATTR_RANK, &peers[r].rank, sizeof(int32_t)));
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  }
  for (r = 0; r < 2; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);
  for (r = 0; r < 2; ++r) {
    CHECK(peers[r].int_result == ecclSuccess);
    CHECK(peers[r].float_result == ecclSuccess);
    if (peers[r].error[0] != '\0') fprintf(stderr, "rank %d: %s\n", r, peers[r].error);
    for (i = 0; i < COUNT; ++i) {
      /* ranks 0 and 1: 1000 + i + 2000 + i; floats: i%7 + 3 + i%7 */
      if (peers[r].ints[i] != 3000 + 2 * i) {
        CHECK(peers[r].ints[i] == 3000 + 2 * i);
        break;
      }
      if (peers[r].floats_out[i] != (float)(3 + 2 * (i % 7))) {
        CHECK(peers[r].floats_out[i] == (float)(3 + 2 * (i % 7)));
        break;
      }
    }
    CHECK(peers[r].info.world_size == 2);
    /* 4004 bytes: a small all-reduce, which two peers do as one exchange of
     * the op header (56 bytes) and the data. */
    CHECK(peers[r].info.bytes_sent == 56 + COUNT * sizeof(float));
    CHECK(peers[r].info.bytes_received == 56 + COUNT * sizeof(float));
    CHECK(peers[r].info.wall_time_ns > 0);
    CHECK(peers[r].retry_result == ecclSuccess);
    CHECK(peers[r].attempts == 1);
    for (i = 0; i < COUNT; ++i) {
      if (peers[r].retried[i] != 3) {
        CHECK(peers[r].retried[i] == 3);
        break;
      }
    }
    CHECK(peers[r].async_result == ecclSuccess);
    CHECK(peers[r].wait_result == ecclSuccess);
    for (i = 0; i < COUNT; ++i) {
      const int32_t expected = i > COUNT - i ? i : COUNT - i;
      if (peers[r].maxes[i] != expected) {
        CHECK(peers[r].maxes[i] == expected);
        break;
      }
    }
  }

  CHECK_OK(ecclCommDestroy(peers[1].comm));
  CHECK_OK(ecclCommDestroy(peers[0].comm));
  stopTestMaster(&master);

  if (failures == 0) printf("c_allreduce_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
