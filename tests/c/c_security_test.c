/* The cluster secret and TLS set through ecclMasterConfig_t and
 * ecclCommConfig_t (not the environment): peers with the master's secret, or
 * with certificates of its CA, join and all-reduce exact sums (over TLS data
 * channels with tls_data "on"); another secret or another CA's certificate
 * makes ecclCommConnect fail with ecclAuthError; incomplete TLS fields, a bad
 * tls_data and a missing secret file are ecclInvalidArgument at create.
 * Certificates come from tools/eccl-certs in a temporary directory this test
 * removes. Only 127.0.0.1 and ephemeral ports; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <eccl/eccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "c_cluster.h"

#define TIMEOUT_MS 10000
#define COUNT 4099

static char dir[64];

/* dir/name, in one of a few static buffers (each call site keeps its own). */
static const char* path(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/%s", dir, name);
  return out;
}

static int writeText(const char* file, const char* text) {
  FILE* f = fopen(file, "w");
  if (f == NULL) return -1;
  fputs(text, f);
  return fclose(f);
}

static int run(const char* command) {
  int rc = system(command);
  if (rc != 0) fprintf(stderr, "command failed (%d): %s\n", rc, command);
  return rc;
}

/* Two comms of `config`'s settings form a ring and all-reduce exact sums. */
static void expectRingWorks(const ecclCommConfig_t* config) {
  ecclComm_t comms[2];
  const int formed = createTestRing(config, comms, 2, TIMEOUT_MS);
  CHECK(formed);
  if (formed) CHECK(allReduceExactOnRing(comms, 2, COUNT, TIMEOUT_MS));
  destroyTestRing(comms, 2);
}

/* A comm of `config` is refused by the master: ecclAuthError at connect. */
static void expectRefused(const ecclCommConfig_t* config) {
  ecclComm_t comm = NULL;
  ecclResult_t result;
  CHECK_OK(ecclCommCreate(config, &comm));
  if (comm == NULL) return;
  result = ecclCommConnect(comm, TIMEOUT_MS);
  if (result != ecclAuthError) {
    fprintf(stderr, "expected ecclAuthError, got %s: %s\n", ecclGetErrorString(result),
            ecclGetLastError());
  }
  CHECK(result == ecclAuthError);
  CHECK_OK(ecclCommDestroy(comm));
}

static void testSecretFields(void) {
  char secret_a[96], secret_b[96];
  TestMaster master;
  ecclMasterConfig_t master_config;
  ecclCommConfig_t config;
  CHECK(writeText(path(secret_a, sizeof(secret_a), "secret-a"), "cluster a: 0123456789abcdef\n") ==
        0);
  CHECK(writeText(path(secret_b, sizeof(secret_b), "secret-b"), "cluster b: 0123456789abcdef\n") ==
        0);
  initTestMasterConfig(&master_config);
  master_config.secret_file = secret_a;
  if (startTestMasterWith(&master, &master_config) != 0) return;
  initTestConfig(&master, "secret", TIMEOUT_MS, &config);
  config.secret_file = secret_a;
  expectRingWorks(&config);
  config.secret_file = secret_b;
  expectRefused(&config);
  stopTestMaster(&master);
}

static void testTlsFields(void) {
  char ca[96], master_pem[96], master_key[96], peer_pem[96], peer_key[96];
  char other_ca[96], stranger_pem[96], stranger_key[96];
  TestMaster master;
  ecclMasterConfig_t master_config;
  ecclCommConfig_t config;
  initTestMasterConfig(&master_config);
  master_config.tls_ca_file = path(ca, sizeof(ca), "ca/ca.pem");
  master_config.tls_cert_file = path(master_pem, sizeof(master_pem), "ca/master.pem");
  master_config.tls_key_file = path(master_key, sizeof(master_key), "ca/master.key");
  if (startTestMasterWith(&master, &master_config) != 0) return;
  initTestConfig(&master, "tls", TIMEOUT_MS, &config);
  config.tls_ca_file = ca;
  config.tls_cert_file = path(peer_pem, sizeof(peer_pem), "ca/peer.pem");
  config.tls_key_file = path(peer_key, sizeof(peer_key), "ca/peer.key");
  config.tls_data = "on"; /* loopback channels too */
  expectRingWorks(&config);
  /* Trusting its own CA only: the master's certificate is refused, and so is it. */
  config.tls_ca_file = path(other_ca, sizeof(other_ca), "other/ca.pem");
  config.tls_cert_file = path(stranger_pem, sizeof(stranger_pem), "other/stranger.pem");
  config.tls_key_file = path(stranger_key, sizeof(stranger_key), "other/stranger.key");
  expectRefused(&config);
  /* The master's CA, but a certificate of another: the master refuses it. */
  config.tls_ca_file = ca;
  expectRefused(&config);
  stopTestMaster(&master);
}

static void testBadFields(void) {
  char missing[96], ca[96];
  ecclMasterConfig_t master_config;
  ecclMaster_t master = NULL;
  ecclCommConfig_t config;
  ecclComm_t comm = NULL;
  TestMaster placeholder;
  snprintf(placeholder.addr, sizeof(placeholder.addr), "127.0.0.1:9");
  initTestMasterConfig(&master_config);
  master_config.secret_file = path(missing, sizeof(missing), "no-such-secret");
  CHECK(ecclMasterCreate(&master_config, &master) == ecclInvalidArgument);
  CHECK(master == NULL);
  CHECK(strstr(ecclGetLastError(), "secret_file") != NULL);

  initTestConfig(&placeholder, "bad", TIMEOUT_MS, &config);
  config.tls_ca_file = path(ca, sizeof(ca), "ca/ca.pem"); /* without cert and key */
  CHECK(ecclCommCreate(&config, &comm) == ecclInvalidArgument);
  CHECK(comm == NULL);
  CHECK(strstr(ecclGetLastError(), "tls_cert_file") != NULL);
  config.tls_ca_file = NULL;
  config.tls_data = "sometimes";
  CHECK(ecclCommCreate(&config, &comm) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "tls_data") != NULL);
}

int main(void) {
  char command[1024];
  const char* script = ECCL_CERTS_SCRIPT;
  snprintf(dir, sizeof(dir), "/tmp/eccl-c-security-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(command, sizeof(command),
           "sh '%s' ca '%s/ca' >/dev/null && sh '%s' host '%s/ca' master 127.0.0.1 >/dev/null && "
           "sh '%s' host '%s/ca' peer 127.0.0.1 >/dev/null && sh '%s' ca '%s/other' >/dev/null && "
           "sh '%s' host '%s/other' stranger 127.0.0.1 >/dev/null",
           script, dir, script, dir, script, dir, script, dir, script, dir);
  if (run(command) == 0) {
    testSecretFields();
    testTlsFields();
    testBadFields();
  } else {
    ++failures;
  }
  snprintf(command, sizeof(command), "rm -rf '%s'", dir);
  run(command);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c_security_test: ok\n");
  return 0;
}
