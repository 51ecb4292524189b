/* A program built against an installed ECCL: prints the library's version,
 * then runs a master on a thread and one peer that all-reduces a few floats
 * over 127.0.0.1 (ephemeral ports). Exits 0 on success. */
#define _POSIX_C_SOURCE 200809L
#include <eccl/eccl.h>
#include <pthread.h>
#include <stdio.h>

#define COUNT 5

static ecclResult_t master_result = ecclInternalError;

static void* runMaster(void* master) {
  master_result = ecclMasterRun((ecclMaster_t)master);
  return NULL;
}

/* 1 (after saying what failed) unless result is ecclSuccess. */
static int failed(ecclResult_t result, const char* what) {
  if (result == ecclSuccess) return 0;
  fprintf(stderr, "hello_eccl: %s: %s (%s)\n", what, ecclGetErrorString(result),
          ecclGetLastError());
  return 1;
}

/* Joins the master at addr alone and all-reduces; 0 if the sum came back exact. */
static int allReduceAlone(const char* addr) {
  const float in[COUNT] = {1.5f, -2.25f, 0.125f, 1024.0f, 3e-3f};
  float out[COUNT] = {0};
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  ecclOpInfo_t info = {0};
  int bad = 0, i;
  if (failed(ecclCommConfigInit(&config), "ecclCommConfigInit")) return 1;
  config.master = addr;
  config.group = "hello";
  config.listen_addr = "127.0.0.1:0";
  config.connections_per_peer = 1;
  config.timeout_ms = 20000;
  if (failed(ecclCommCreate(&config, &comm), "ecclCommCreate")) return 1;
  info.struct_size = sizeof(info);
  bad = failed(ecclCommConnect(comm, -1), "ecclCommConnect") ||
        failed(ecclAllReduce(comm, in, out, COUNT, ecclFloat32, ecclSum, NULL, 1, -1, &info),
               "ecclAllReduce");
  for (i = 0; !bad && i < COUNT; ++i) {
    if (out[i] != in[i]) {
      fprintf(stderr, "hello_eccl: element %d is %g, want %g\n", i, out[i], in[i]);
      bad = 1;
    }
  }
  if (!bad && info.world_size != 1) {
    fprintf(stderr, "hello_eccl: world size %d, want 1\n", (int)info.world_size);
    bad = 1;
  }
  bad |= failed(ecclCommDestroy(comm), "ecclCommDestroy");
  return bad;
}

int main(void) {
  int version = 0, bad;
  ecclMasterConfig_t config;
  ecclMaster_t master = NULL;
  pthread_t thread;
  uint16_t port = 0;
  char addr[32];

  if (failed(ecclGetVersion(&version), "ecclGetVersion")) return 1;
  printf("hello_eccl: libeccl %d.%d.%d, header %d.%d.%d\n", version / 10000, version / 100 % 100,
         version % 100, ECCL_VERSION_MAJOR, ECCL_VERSION_MINOR, ECCL_VERSION_PATCH);
  if (version != ECCL_VERSION_CODE) return 1;

  if (failed(ecclMasterConfigInit(&config), "ecclMasterConfigInit")) return 1;
  config.listen_addr = "127.0.0.1:0";
  config.token_key_file = NULL;
  if (failed(ecclMasterCreate(&config, &master), "ecclMasterCreate")) return 1;
  if (failed(ecclMasterGetPort(master, &port), "ecclMasterGetPort") ||
      pthread_create(&thread, NULL, runMaster, master) != 0) {
    ecclMasterDestroy(master);
    return 1;
  }
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);

  bad = allReduceAlone(addr);
  bad |= failed(ecclMasterStop(master), "ecclMasterStop");
  bad |= pthread_join(thread, NULL) != 0;
  bad |= failed(master_result, "ecclMasterRun");
  bad |= failed(ecclMasterDestroy(master), "ecclMasterDestroy");
  if (!bad) printf("hello_eccl: all-reduce of %d floats on %s: ok\n", COUNT, addr);
  return bad;
}
