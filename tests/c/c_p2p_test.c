/* ecclSend / ecclRecv / ecclCommLookupPeer from strict C99: two peers of
 * different groups (two pipeline stages) find each other through the master
 * and exchange exact values both ways; a count that differs fails on both
 * sides; argument errors. Only 127.0.0.1 and ephemeral ports; every wait is
 * bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 20000
#define COUNT 100003

/* What the stage-0 peer's thread sends, then receives back. */
typedef struct {
  ecclComm_t comm;
  ecclPeerId_t partner;
  int32_t ints[COUNT];
  double doubles[3];
  ecclOpInfo_t info;
  ecclResult_t send_result;
  ecclResult_t recv_result;
  ecclResult_t short_result;
} Sender;

static void* runSender(void* arg) {
  Sender* s = (Sender*)arg;
  int i;
  for (i = 0; i < COUNT; ++i)
    s->ints[i] = i * 7 - 3;
  memset(&s->info, 0, sizeof(s->info));
  s->info.struct_size = sizeof(s->info);
  s->send_result = ecclSend(s->comm, s->ints, COUNT, ecclInt32, s->partner, 5, -1, &s->info);
  s->recv_result = ecclRecv(s->comm, s->doubles, 3, ecclFloat64, s->partner, 6, -1, NULL);
  /* The receiver expects 10 elements on tag 7: both sides fail. */
  s->short_result = ecclSend(s->comm, s->ints, 9, ecclInt32, s->partner, 7, -1, NULL);
  return NULL;
}

static void checkErrors(ecclComm_t comm, ecclPeerId_t self, ecclPeerId_t partner) {
  int32_t buf[4] = {0};
  ecclPeerId_t zero;
  ecclPeerId_t found;
  memset(&zero, 0, sizeof(zero));
  CHECK(ecclSend(NULL, buf, 4, ecclInt32, partner, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclSend(comm, buf, 4, (ecclDataType_t)12, partner, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "dtype 12") != NULL);
  CHECK(ecclSend(comm, buf, 4, ecclInt32, self, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclRecv(comm, buf, 4, ecclInt32, zero, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclRecv(comm, NULL, 4, ecclInt32, partner, 0, 100, NULL) == ecclInvalidArgument);
  CHECK(ecclSend(comm, buf, 4, ecclInt32, partner, (uint64_t)1 << 32, 100, NULL) ==
        ecclInvalidArgument);
  CHECK(ecclCommLookupPeer(comm, "stage1", 1, &found, TIMEOUT_MS) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "rank 1 of group 'stage1'") != NULL);
  CHECK(ecclCommLookupPeer(comm, "stage1", -1, &found, TIMEOUT_MS) == ecclInvalidArgument);
  CHECK(ecclCommLookupPeer(comm, "stage1", 0, NULL, TIMEOUT_MS) == ecclInvalidArgument);
}

int main(void) {
  static TestMaster master;
  pthread_t sender_thread;
  static Sender sender;
  static int32_t received[COUNT];
  int32_t wrong[10];
  const double doubles[3] = {1.5, -2.25, 1e300};
  ecclComm_t stage0, stage1;
  ecclPeerId_t id0, id1, looked_up;
  int i, exact = 1;

  if (startTestMaster(&master) != 0) return 1;
  stage0 = makeTestComm(&master, "stage0", TIMEOUT_MS);
  stage1 = makeTestComm(&master, "stage1", TIMEOUT_MS);
  if (stage0 == NULL || stage1 == NULL) return 1;
  /* Each is alone in its group: admitted at once. */
  CHECK_OK(ecclCommConnect(stage0, TIMEOUT_MS));
  CHECK_OK(ecclCommConnect(stage1, TIMEOUT_MS));
  CHECK_OK(ecclCommGetAttr(stage0, ECCL_ATTR_PEER_ID, &id0, sizeof(id0)));
  CHECK_OK(ecclCommGetAttr(stage1, ECCL_ATTR_PEER_ID, &id1, sizeof(id1)));
  CHECK_OK(ecclCommLookupPeer(stage0, "stage1", 0, &looked_up, -1));
  CHECK(memcmp(&looked_up, &id1, sizeof(id1)) == 0);
  CHECK_OK(ecclCommLookupPeer(stage1, NULL, 0, &looked_up, -1)); /* its own group */
  CHECK(memcmp(&looked_up, &id1, sizeof(id1)) == 0);
  CHECK_OK(ecclCommLookupPeer(stage1, "stage0", 0, &looked_up, -1));
  CHECK(memcmp(&looked_up, &id0, sizeof(id0)) == 0);
  checkErrors(stage0, id0, id1);

  sender.comm = stage0;
  sender.partner = id1;
  CHECK(pthread_create(&sender_thread, NULL, runSender, &sender) == 0);
  CHECK_OK(ecclRecv(stage1, received, COUNT, ecclInt32, id0, 5, -1, NULL));
  for (i = 0; i < COUNT; ++i)
    exact = exact && received[i] == i * 7 - 3;
  CHECK(exact);
  CHECK_OK(ecclSend(stage1, doubles, 3, ecclFloat64, id0, 6, -1, NULL));
  CHECK(ecclRecv(stage1, wrong, 10, ecclInt32, id0, 7, -1, NULL) == ecclInvalidUsage);
  CHECK(pthread_join(sender_thread, NULL) == 0);
  CHECK(sender.send_result == ecclSuccess);
  CHECK(sender.info.bytes_sent == (uint64_t)COUNT * sizeof(int32_t));
  CHECK(sender.info.world_size == 2);
  CHECK(sender.recv_result == ecclSuccess);
  CHECK(memcmp(sender.doubles, doubles, sizeof(doubles)) == 0);
  CHECK(sender.short_result == ecclInvalidUsage);

  CHECK_OK(ecclCommDestroy(stage0));
  CHECK_OK(ecclCommDestroy(stage1));
  stopTestMaster(&master);
  if (failures == 0) printf("c_p2p_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
