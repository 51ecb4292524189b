/* Pipeline stages through the C API, from strict C99: the config fields and
 * their environment variables, ECCL_ATTR_STAGE, metric reports, stage queries,
 * STAGE_LOST events (with an older ecclEvent_t too), a replacement's
 * RECOVERING stage and its announcement (ecclCommAnnounceStageRecovered),
 * which brings STAGE_RESTORED with the announced round.
 * Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 10000

static void sleepMs(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* makeTestComm's communicator, holding `stage` of a pipeline of `num_stages`. */
static ecclComm_t makeStageComm(const TestMaster* m, const char* group, int32_t stage,
                                int32_t num_stages) {
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  initTestConfig(m, group, TIMEOUT_MS, &config);
  config.stage = stage;
  config.num_stages = num_stages;
  CHECK_OK(ecclCommCreate(&config, &comm));
  return comm;
}

/* Polls `comm` for an event of `kind` (others skipped) for up to 10 s; 1 if found. */
static int awaitEvent(ecclComm_t comm, ecclEventKind_t kind, ecclEvent_t* event) {
  int tries;
  for (tries = 0; tries < 2000; ++tries) {
    ecclResult_t result = ecclCommPollEvent(comm, event);
    CHECK(result == ecclSuccess);
    if (result != ecclSuccess) return 0;
    if (event->kind == kind) return 1;
    if (event->kind == ECCL_EVENT_NONE) sleepMs(5);
  }
  return 0;
}

static int allZero(const ecclPeerId_t* id) {
  size_t i;
  for (i = 0; i < sizeof(id->bytes); ++i) {
    if (id->bytes[i] != 0) return 0;
  }
  return 1;
}

static void checkConfig(const TestMaster* m) {
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  int32_t stage = 7;
  CHECK_OK(ecclCommConfigInit(&config));
  CHECK(config.stage == -1);
  CHECK(config.num_stages == 0);
  CHECK(setenv("ECCL_STAGE", "2", 1) == 0);
  CHECK(setenv("ECCL_NUM_STAGES", "5", 1) == 0);
  CHECK_OK(ecclCommConfigInit(&config));
  CHECK(config.stage == 2);
  CHECK(config.num_stages == 5);
  CHECK(setenv("ECCL_STAGE", "-1", 1) == 0);
  CHECK(setenv("ECCL_NUM_STAGES", "0", 1) == 0);
  CHECK_OK(ecclCommConfigInit(&config));
  CHECK(config.stage == -1);
  CHECK(setenv("ECCL_STAGE", "two", 1) == 0);
  CHECK(ecclCommConfigInit(&config) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "ECCL_STAGE") != NULL);
  CHECK(config.stage == -1); /* the defaults, after a malformed variable */
  CHECK(unsetenv("ECCL_STAGE") == 0);
  CHECK(unsetenv("ECCL_NUM_STAGES") == 0);

  /* Inconsistent stage fields are refused by name. */
  {
    const int32_t bad[][2] = {{1, 0}, {3, 3}, {-1, 2}, {-2, 4}, {0, 4097}, {0, -1}};
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
      CHECK_OK(ecclCommConfigInit(&config));
      config.master = m->addr;
      config.listen_addr = "127.0.0.1:0";
      config.stage = bad[i][0];
      config.num_stages = bad[i][1];
      CHECK(ecclCommCreate(&config, &comm) == ecclInvalidArgument);
      CHECK(comm == NULL);
      CHECK(strstr(ecclGetLastError(), "ecclCommCreate: config->") != NULL);
    }
  }

  /* A caller built before the stage fields: whatever lies there is not read. */
  CHECK_OK(ecclCommConfigInit(&config));
  config.master = m->addr;
  config.listen_addr = "127.0.0.1:0";
  config.struct_size = offsetof(ecclCommConfig_t, stage);
  config.stage = 12345;
  config.num_stages = -7;
  CHECK_OK(ecclCommCreate(&config, &comm));
  CHECK_OK(ecclCommGetAttr(comm, ECCL_ATTR_STAGE, &stage, sizeof(stage)));
  CHECK(stage == -1);
  CHECK(ecclCommReportMetric(comm, 1, 1.0) == ecclInvalidUsage);
  CHECK_OK(ecclCommDestroy(comm));
}

static void checkQuery(ecclComm_t asker, int32_t stage, ecclStageState_t state, const char* group,
                       int32_t accepted) {
  ecclStageInfo_t info;
  memset(&info, 0xab, sizeof(info));
  info.struct_size = sizeof(info);
  CHECK_OK(ecclCommGetStageInfo(asker, stage, &info, -1));
  CHECK(info.stage == stage);
  CHECK(info.state == state);
  CHECK(strcmp(info.group, group) == 0);
  CHECK(info.accepted == accepted);
}

int main(void) {
  TestMaster m;
  ecclComm_t s0, s1, plain, replacement;
  ecclPeerId_t s0_id;
  ecclStageInfo_t info;
  ecclEvent_t event;
  int32_t stage = 0;
  if (startTestMaster(&m) != 0) return 1;
  checkConfig(&m);

  s0 = makeStageComm(&m, "s0", 0, 2);
  s1 = makeStageComm(&m, "s1", 1, 2);
  plain = makeTestComm(&m, "plain", TIMEOUT_MS);
  CHECK_OK(ecclCommConnect(s0, -1));
  CHECK_OK(ecclCommConnect(s1, -1));
  CHECK_OK(ecclCommConnect(plain, -1));
  CHECK_OK(ecclCommGetAttr(s1, ECCL_ATTR_STAGE, &stage, sizeof(stage)));
  CHECK(stage == 1);
  CHECK_OK(ecclCommGetAttr(s0, ECCL_ATTR_PEER_ID, &s0_id, sizeof(s0_id)));

  /* Metrics: only finite values >= 0, only from a stage. */
  CHECK_OK(ecclCommReportMetric(s0, 3, 2.5));
  CHECK(ecclCommReportMetric(s0, 4, -1.0) == ecclInvalidArgument);
  CHECK(ecclCommReportMetric(s0, 4, NAN) == ecclInvalidArgument);
  CHECK(ecclCommReportMetric(s0, 4, INFINITY) == ecclInvalidArgument);
  CHECK(ecclCommReportMetric(plain, 1, 1.0) == ecclInvalidUsage);
  CHECK(strstr(ecclGetLastError(), "not a pipeline stage") != NULL);
  CHECK(ecclCommReportMetric(NULL, 1, 1.0) == ecclInvalidArgument);

  /* s0's own query follows its report on its connection: the metric is in. */
  checkQuery(s0, 0, ECCL_STAGE_ACTIVE, "s0", 1);
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  CHECK_OK(ecclCommGetStageInfo(plain, 0, &info, -1));
  CHECK(info.has_metric == 1);
  CHECK(info.metric_round == 3);
  CHECK(info.metric == 2.5);
  CHECK(memcmp(&info.metric_peer, &s0_id, sizeof(s0_id)) == 0);
  checkQuery(plain, 7, ECCL_STAGE_UNKNOWN, "", 0);
  CHECK(ecclCommGetStageInfo(plain, -1, &info, -1) == ecclInvalidArgument);
  CHECK(ecclCommGetStageInfo(plain, 4096, &info, -1) == ecclInvalidArgument);
  CHECK(ecclCommGetStageInfo(plain, 0, NULL, -1) == ecclInvalidArgument);
  info.struct_size = sizeof(info) - 1;
  CHECK(ecclCommGetStageInfo(plain, 0, &info, -1) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "struct_size") != NULL);

  /* Stage 1's only peer leaves: s0 hears STAGE_LOST(1). Polled with an
   * ecclEvent_t of the first version, the stage field is left alone. */
  CHECK_OK(ecclCommDestroy(s1));
  memset(&event, 0, sizeof(event));
  event.struct_size = offsetof(ecclEvent_t, stage);
  event.stage = 12345;
  CHECK(awaitEvent(s0, ECCL_EVENT_STAGE_LOST, &event));
  CHECK(event.stage == 12345);
  CHECK(allZero(&event.peer));
  CHECK(event.revision == 0);
  checkQuery(plain, 1, ECCL_STAGE_LOST, "s1", 0);

  /* A replacement is accepted at once: the stage is RECOVERING, and nobody
   * hears STAGE_RESTORED before it announces (an event sent at its admission
   * would precede the answer to s0's own query on s0's connection). */
  replacement = makeStageComm(&m, "s1", 1, 2);
  CHECK(ecclCommAnnounceStageRecovered(replacement, 1, -1, NULL) == ecclInvalidUsage);
  CHECK(strstr(ecclGetLastError(), "not accepted") != NULL);
  CHECK_OK(ecclCommConnect(replacement, -1));
  checkQuery(replacement, 1, ECCL_STAGE_RECOVERING, "s1", 1);
  checkQuery(s0, 1, ECCL_STAGE_RECOVERING, "s1", 1);
  event.struct_size = sizeof(event);
  for (;;) {
    CHECK_OK(ecclCommPollEvent(s0, &event));
    if (event.kind == ECCL_EVENT_NONE) break;
    CHECK(event.kind != ECCL_EVENT_STAGE_RESTORED);
  }

  /* Misuse of the announcement. */
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  CHECK(ecclCommAnnounceStageRecovered(NULL, 7, -1, &info) == ecclInvalidArgument);
  CHECK(ecclCommAnnounceStageRecovered(plain, 7, -1, &info) == ecclInvalidUsage);
  CHECK(strstr(ecclGetLastError(), "not a pipeline stage") != NULL);
  info.struct_size = sizeof(info) + 1;
  CHECK(ecclCommAnnounceStageRecovered(replacement, 7, -1, &info) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "struct_size") != NULL);
  checkQuery(plain, 1, ECCL_STAGE_RECOVERING, "s1", 1);

  /* Its weights rebuilt, the replacement announces round 7: the stage is
   * ACTIVE, and s0 hears STAGE_RESTORED(1) with revision 7. */
  memset(&info, 0xab, sizeof(info));
  info.struct_size = sizeof(info);
  CHECK_OK(ecclCommAnnounceStageRecovered(replacement, 7, -1, &info));
  CHECK(info.stage == 1);
  CHECK(info.state == ECCL_STAGE_ACTIVE);
  CHECK(strcmp(info.group, "s1") == 0);
  CHECK(info.accepted == 1);
  CHECK(awaitEvent(s0, ECCL_EVENT_STAGE_RESTORED, &event));
  CHECK(event.stage == 1);
  CHECK(event.revision == 7);
  CHECK(allZero(&event.peer));
  CHECK(awaitEvent(replacement, ECCL_EVENT_STAGE_RESTORED, &event));
  CHECK(event.revision == 7);

  /* Announcing an active stage (again, or one never lost) changes nothing. */
  CHECK_OK(ecclCommAnnounceStageRecovered(replacement, 8, -1, NULL));
  CHECK_OK(ecclCommAnnounceStageRecovered(s0, 9, -1, NULL));
  checkQuery(s0, 1, ECCL_STAGE_ACTIVE, "s1", 1);
  checkQuery(s0, 0, ECCL_STAGE_ACTIVE, "s0", 1);
  for (;;) {
    CHECK_OK(ecclCommPollEvent(s0, &event));
    if (event.kind == ECCL_EVENT_NONE) break;
    CHECK(event.kind != ECCL_EVENT_STAGE_RESTORED);
  }

  /* The group without a stage heard of none of it. */
  for (;;) {
    CHECK_OK(ecclCommPollEvent(plain, &event));
    if (event.kind == ECCL_EVENT_NONE) break;
    CHECK(event.kind != ECCL_EVENT_STAGE_LOST && event.kind != ECCL_EVENT_STAGE_RESTORED);
    CHECK(event.stage == -1);
  }

  CHECK_OK(ecclCommDestroy(replacement));
  CHECK_OK(ecclCommDestroy(plain));
  CHECK_OK(ecclCommDestroy(s0));
  stopTestMaster(&m);
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
