/* Uses the C API from C99: the header compiles without C++ and the calls behave. */
#include <eccl/eccl.h>
#include <stdio.h>
#include <string.h>

#include "c_check.h"

int main(void) {
  int version = 0;
  int code;
  CHECK(ecclGetVersion(&version) == ecclSuccess);
  CHECK(version == ECCL_VERSION_CODE);

  /* A failing call reports a code and a detail text on this thread. */
  CHECK(ecclGetVersion(NULL) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "NULL") != NULL);

  for (code = 0; code < (int)ecclNumResults; ++code) {
    const char* text = ecclGetErrorString((ecclResult_t)code);
    CHECK(text != NULL && strncmp(text, "eccl", 4) == 0);
  }
  CHECK(strstr(ecclGetErrorString(ecclPeerLost), "peer") != NULL);
  CHECK(strcmp(ecclGetErrorString((ecclResult_t)999), "unknown ecclResult_t value") == 0);

  if (failures == 0) printf("c_api_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
