/* ecclCommConfig_t.transport: two comms of one process (one host) all-reduce
 * exact sums through shared memory with "auto" (the default) and "shm", and
 * through TCP only with "tcp", even when ECCL_TRANSPORT says otherwise (the
 * field, which ecclCommConfigInit filled from the environment, wins). Which
 * path the bytes took is read from this process's mappings of ECCL segments
 * (/proc/self/maps). "rdma" never uses shared memory (RDMA where both ends
 * have a device, TCP here, where none has), a bad value ecclInvalidArgument
 * naming the field. Only 127.0.0.1 and ephemeral ports;
 * every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 10000
#define COUNT 100003

/* How many ECCL shared-memory segments this process has mapped. */
static int mappedSegments(void) {
  char line[512];
  int count = 0;
  FILE* maps = fopen("/proc/self/maps", "r");
  if (maps == NULL) return -1;
  while (fgets(line, sizeof(line), maps) != NULL) {
    if (strstr(line, "/dev/shm/eccl-") != NULL) ++count;
  }
  fclose(maps);
  return count;
}

/* Two comms of `config` form a ring and all-reduce exact sums; returns how
 * many segments were mapped while their channels were open (-1 on failure). */
static int ringSegments(const ecclCommConfig_t* config) {
  ecclComm_t comms[2];
  int segments = -1;
  const int formed = createTestRing(config, comms, 2, TIMEOUT_MS);
  CHECK(formed);
  if (formed) {
    CHECK(allReduceExactOnRing(comms, 2, COUNT, TIMEOUT_MS));
    segments = mappedSegments();
  }
  destroyTestRing(comms, 2);
  return segments;
}

int main(void) {
  TestMaster master;
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  if (unsetenv("ECCL_TRANSPORT") != 0) return 1;
  if (startTestMaster(&master) != 0) return 1;

  initTestConfig(&master, "auto", TIMEOUT_MS, &config);
  CHECK(strcmp(config.transport, "auto") == 0);
  CHECK(ringSegments(&config) > 0);

  initTestConfig(&master, "shm", TIMEOUT_MS, &config);
  config.transport = "shm";
  CHECK(ringSegments(&config) > 0);

  /* The field wins over the environment read after ecclCommConfigInit. */
  initTestConfig(&master, "tcp", TIMEOUT_MS, &config);
  config.transport = "tcp";
  CHECK(setenv("ECCL_TRANSPORT", "shm", 1) == 0);
  CHECK(ringSegments(&config) == 0);
  /* ... and ecclCommConfigInit reads the environment into it. */
  initTestConfig(&master, "env", TIMEOUT_MS, &config);
  CHECK(strcmp(config.transport, "shm") == 0);
  CHECK(unsetenv("ECCL_TRANSPORT") == 0);

  initTestConfig(&master, "rdma", TIMEOUT_MS, &config);
  config.transport = "rdma";
  CHECK(ringSegments(&config) == 0);

  config.transport = "carrier-pigeon";
  CHECK(ecclCommCreate(&config, &comm) == ecclInvalidArgument);
  CHECK(comm == NULL);
  CHECK(strstr(ecclGetLastError(), "transport") != NULL);

  stopTestMaster(&master);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c_transport_test: ok\n");
  return 0;
}
