/* Quantized all-reduce from strict C99 (ecclQuantConfig_t): three peers on
 * pthreads sum f32 data through ecclAllReduce, ecclAllReduceAsync,
 * ecclAllReduceWithRetry and ecclAllReduceBatch with different algorithms and
 * wire types. Every peer's result must be byte-identical (memcmp) and within
 * the header's a priori error bound of the exact sum; NULL quant and
 * ecclQuantNone stay exact; bad configs are argument errors, and peers that
 * pass different configs fail with ecclInvalidUsage naming "quantization".
 * Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define PEERS 3
#define COUNT 50001 /* several blocks and pipeline chunks, the last block partial */
#define BATCH_A 1000
#define NUM_OPS 7

/* The quantized ops, in the order every peer runs them. */
enum { OP_MINMAX_U8, OP_ASYNC_ZPS_I8, OP_RETRY_U16, OP_BATCH_BF16, OP_NULL, OP_NONE, OP_MISMATCH };

typedef struct {
  ecclComm_t comm;
  int32_t rank;
  float results[NUM_OPS][COUNT];
  ecclResult_t status[NUM_OPS];
  char error[NUM_OPS][256];
} Peer;

/* Rank r's element i: hundredths in [-1, 1], varying within every block (a
 * constant block would quantize exactly and test nothing). */
static float input(int32_t rank, size_t i) {
  return (float)((long)((i * 37u + (size_t)rank * 101u) % 201u) - 100) / 100.0f;
}

/* Small integers for the exact ops: every partial sum is exact in f32. */
static float exactInput(int32_t rank, size_t i) {
  return (float)(rank * 3 + (int)(i % 7));
}

static ecclQuantConfig_t config(ecclQuantAlgorithm_t algorithm, ecclWireType_t wire,
                                uint32_t block) {
  ecclQuantConfig_t c;
  memset(&c, 0, sizeof(c));
  c.struct_size = sizeof(c);
  c.algorithm = algorithm;
  c.wire_type = wire;
  c.block_size = block;
  return c;
}

static void fill(float* data, int32_t rank, int exact) {
  size_t i;
  for (i = 0; i < COUNT; ++i)
    data[i] = exact ? exactInput(rank, i) : input(rank, i);
}

static void note(Peer* p, int op) {
  if (p->status[op] != ecclSuccess)
    snprintf(p->error[op], sizeof(p->error[op]), "%s", ecclGetLastError());
}

static void* runPeer(void* arg) {
  Peer* p = (Peer*)arg;
  static float sends[PEERS][COUNT]; /* one row per rank: peers run at once */
  float* send = sends[p->rank];
  uint32_t attempts = 0;

  { /* Out of place, min-max onto u8, blocks of 256. */
    const ecclQuantConfig_t q = config(ecclQuantMinMax, ecclWireUint8, 256);
    fill(send, p->rank, 0);
    p->status[OP_MINMAX_U8] = ecclAllReduce(p->comm, send, p->results[OP_MINMAX_U8], COUNT,
                                            ecclFloat32, ecclSum, &q, 1, -1, NULL);
    note(p, OP_MINMAX_U8);
  }
  { /* In place and queued, zero point and scale onto i8, blocks of 64; the
     * config is a local that ends before the op does (the call copies it). */
    ecclRequest_t request = NULL;
    {
      const ecclQuantConfig_t q = config(ecclQuantZeroPointScale, ecclWireInt8, 64);
      fill(p->results[OP_ASYNC_ZPS_I8], p->rank, 0);
      p->status[OP_ASYNC_ZPS_I8] =
          ecclAllReduceAsync(p->comm, p->results[OP_ASYNC_ZPS_I8], p->results[OP_ASYNC_ZPS_I8],
                             COUNT, ecclFloat32, ecclSum, &q, 2, -1, &request);
    }
    if (p->status[OP_ASYNC_ZPS_I8] == ecclSuccess) {
      p->status[OP_ASYNC_ZPS_I8] = ecclWait(request, NULL);
      if (ecclRequestFree(request) != ecclSuccess) p->status[OP_ASYNC_ZPS_I8] = ecclInternalError;
    }
    note(p, OP_ASYNC_ZPS_I8);
  }
  { /* With retry (one attempt suffices), min-max onto u16. */
    const ecclQuantConfig_t q = config(ecclQuantMinMax, ecclWireUint16, 1024);
    fill(p->results[OP_RETRY_U16], p->rank, 0);
    p->status[OP_RETRY_U16] =
        ecclAllReduceWithRetry(p->comm, p->results[OP_RETRY_U16], p->results[OP_RETRY_U16], COUNT,
                               ecclFloat32, ecclSum, &q, 3, -1, 2, &attempts, NULL);
    note(p, OP_RETRY_U16);
    if (attempts != 1) p->status[OP_RETRY_U16] = ecclInternalError;
  }
  { /* Two tensors as one op, bf16 on the wire. */
    const ecclQuantConfig_t q = config(ecclQuantMinMax, ecclWireBfloat16, 1024);
    ecclTensor_t tensors[2];
    fill(p->results[OP_BATCH_BF16], p->rank, 0);
    tensors[0].sendbuf = p->results[OP_BATCH_BF16];
    tensors[0].recvbuf = p->results[OP_BATCH_BF16];
    tensors[0].count = BATCH_A;
    tensors[1].sendbuf = p->results[OP_BATCH_BF16] + BATCH_A;
    tensors[1].recvbuf = p->results[OP_BATCH_BF16] + BATCH_A;
    tensors[1].count = COUNT - BATCH_A;
    p->status[OP_BATCH_BF16] =
        ecclAllReduceBatch(p->comm, tensors, 2, ecclFloat32, ecclSum, &q, 4, -1, NULL);
    note(p, OP_BATCH_BF16);
  }
  /* NULL and ecclQuantNone: exact, as before quantization existed. */
  fill(send, p->rank, 1);
  p->status[OP_NULL] = ecclAllReduce(p->comm, send, p->results[OP_NULL], COUNT, ecclFloat32,
                                     ecclSum, NULL, 5, -1, NULL);
  note(p, OP_NULL);
  {
    const ecclQuantConfig_t q = config(ecclQuantNone, (ecclWireType_t)77, 0); /* not read */
    p->status[OP_NONE] = ecclAllReduce(p->comm, send, p->results[OP_NONE], COUNT, ecclFloat32,
                                       ecclSum, &q, 6, -1, NULL);
    note(p, OP_NONE);
  }
  { /* Rank 1 asks for another wire: every peer fails naming the field (last:
     * a failed op would need ecclCommUpdateTopology before the next). */
    const ecclQuantConfig_t q =
        config(ecclQuantMinMax, p->rank == 1 ? ecclWireUint16 : ecclWireUint8, 1024);
    fill(send, p->rank, 0);
    p->status[OP_MISMATCH] = ecclAllReduce(p->comm, send, p->results[OP_MISMATCH], COUNT,
                                           ecclFloat32, ecclSum, &q, 7, -1, NULL);
    note(p, OP_MISMATCH);
  }
  return NULL;
}

/* Argument errors, reported before anything is sent. */
static void checkErrors(ecclComm_t comm) {
  float floats[4] = {0};
  int32_t ints[4] = {0};
  ecclQuantConfig_t q = config(ecclQuantMinMax, ecclWireUint8, 1024);
  ecclRequest_t request = NULL;
  ecclTensor_t tensor;

  CHECK(ecclAllReduce(comm, ints, ints, 4, ecclInt32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "i32") != NULL || strstr(ecclGetLastError(), "int") != NULL);
  CHECK(ecclAllReduceAsync(comm, ints, ints, 4, ecclInt32, ecclSum, &q, 0, 100, &request) ==
        ecclInvalidArgument);
  CHECK(request == NULL);

  q.struct_size = sizeof(q) - 1;
  CHECK(ecclAllReduce(comm, floats, floats, 4, ecclFloat32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "struct_size") != NULL);
  q.struct_size = sizeof(q) + 8;
  CHECK(ecclAllReduceWithRetry(comm, floats, floats, 4, ecclFloat32, ecclSum, &q, 0, 100, 1, NULL,
                               NULL) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "struct_size") != NULL);

  q = config((ecclQuantAlgorithm_t)3, ecclWireUint8, 1024);
  CHECK(ecclAllReduce(comm, floats, floats, 4, ecclFloat32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "algorithm") != NULL);
  q = config(ecclQuantMinMax, (ecclWireType_t)5, 1024);
  CHECK(ecclAllReduce(comm, floats, floats, 4, ecclFloat32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "wire") != NULL);
  q = config(ecclQuantMinMax, ecclWireUint8, 1000); /* not a multiple of 16 */
  tensor.sendbuf = floats;
  tensor.recvbuf = floats;
  tensor.count = 4;
  CHECK(ecclAllReduceBatch(comm, &tensor, 1, ecclFloat32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "block") != NULL);
  q = config(ecclQuantMinMax, ecclWireFloat16, 8); /* checked for float wires too */
  CHECK(ecclAllReduce(comm, floats, floats, 4, ecclFloat32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
  q = config(ecclQuantMinMax, ecclWireUint8, (1u << 20) + 16);
  CHECK(ecclAllReduce(comm, floats, floats, 4, ecclFloat32, ecclSum, &q, 0, 100, NULL) ==
        ecclInvalidArgument);
}

/* The header's error bound, a priori, for a sum of N = 3 inputs with
 * |x| <= X = 1: quantization k = 1..N sees partial sums |p_k| <= k X in a
 * block of range <= 2 k X, so it errs by at most k X / (2^bits - 1) (bf16:
 * k X 2^-8) plus 8u (3 k X) of float rounding and 2u k X for the addition
 * after it (u = 2^-24): 26u, rounded up to 32u. Summed over k: N (N + 1) / 2
 * times that; 1 % more covers the partial sums' growth by earlier errors.
 * (quant::ringErrorBound gives 0.02360 for u8, 0.000101 for u16, 0.02350
 * for bf16; these are 0.02378, 0.000104 and 0.02368.) */
static double tolerance(int op) {
  const double steps = PEERS * (PEERS + 1) / 2.0;
  const double level = op == OP_RETRY_U16    ? 1.0 / 65535.0
                       : op == OP_BATCH_BF16 ? 1.0 / 256.0
                                             : 1.0 / 255.0;
  return steps * (1.01 * level + 32.0 / 16777216.0);
}

int main(void) {
  static TestMaster master;
  pthread_t threads[PEERS];
  ecclComm_t comms[PEERS];
  static Peer peers[PEERS];
  int r, op;
  size_t i;

  if (startTestMaster(&master) != 0) return 1;
  for (r = 0; r < PEERS; ++r) {
    peers[r].comm = makeTestComm(&master, "cquant", TIMEOUT_MS);
    if (peers[r].comm == NULL) return 1;
  }
  /* The first forms the ring; the others join at its update. */
  CHECK_OK(ecclCommConnect(peers[0].comm, TIMEOUT_MS));
  checkErrors(peers[0].comm);
  for (r = 0; r < PEERS; ++r)
    comms[r] = peers[r].comm;
  CHECK(joinTestRing(comms, PEERS, TIMEOUT_MS));
  for (r = 0; r < PEERS; ++r) {
    CHECK_OK(ecclCommGetAttr(peers[r].comm, ECCL_ATTR_RANK, &peers[r].rank, sizeof(int32_t)));
    CHECK(pthread_create(&threads[r], NULL, runPeer, &peers[r]) == 0);
  }
  for (r = 0; r < PEERS; ++r)
    CHECK(pthread_join(threads[r], NULL) == 0);

  for (r = 0; r < PEERS; ++r) {
    if (peers[r].status[OP_MISMATCH] != ecclInvalidUsage)
      fprintf(stderr, "mismatch, rank %d: result %d: %s\n", (int)peers[r].rank,
              (int)peers[r].status[OP_MISMATCH], peers[r].error[OP_MISMATCH]);
    CHECK(peers[r].status[OP_MISMATCH] == ecclInvalidUsage);
    CHECK(strstr(peers[r].error[OP_MISMATCH], "quantization") != NULL);
  }
  for (op = 0; op < OP_MISMATCH; ++op) {
    const int exact = op == OP_NULL || op == OP_NONE;
    double worst = 0;
    for (r = 0; r < PEERS; ++r) {
      if (peers[r].status[op] != ecclSuccess)
        fprintf(stderr, "op %d, peer %d: %s\n", op, r, peers[r].error[op]);
      CHECK(peers[r].status[op] == ecclSuccess);
      /* Bit-identical on every peer. */
      if (r > 0)
        CHECK(memcmp(peers[r].results[op], peers[0].results[op], sizeof(float) * COUNT) == 0);
    }
    for (i = 0; i < COUNT; ++i) {
      double want = 0;
      int k;
      for (k = 0; k < PEERS; ++k)
        want += exact ? exactInput(k, i) : input(k, i);
      worst = fmax(worst, fabs((double)peers[0].results[op][i] - want));
      if (isnan(peers[0].results[op][i])) worst = INFINITY;
    }
    if (exact) {
      CHECK(worst == 0);
    } else {
      if (!(worst <= tolerance(op)))
        fprintf(stderr, "op %d: error %g above the bound %g\n", op, worst, tolerance(op));
      CHECK(worst <= tolerance(op));
      CHECK(worst > 0); /* it did quantize */
      printf("op %d: largest error %.6f, bound %.6f\n", op, worst, tolerance(op));
    }
  }

  for (r = PEERS - 1; r >= 0; --r)
    CHECK_OK(ecclCommDestroy(peers[r].comm));
  stopTestMaster(&master);

  if (failures == 0) printf("c_quant_allreduce_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
