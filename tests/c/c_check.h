/* Checks for the C test programs: count failures, print where, carry on. */
#ifndef ECCL_TESTS_C_CHECK_H_
#define ECCL_TESTS_C_CHECK_H_

#include <eccl/eccl.h>
#include <stdio.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* A call that must succeed; on failure prints the last-error text. */
#define CHECK_OK(call)                                                          \
  do {                                                                          \
    ecclResult_t check_ok_result_ = (call);                                     \
    if (check_ok_result_ != ecclSuccess) {                                      \
      fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call, \
              ecclGetErrorString(check_ok_result_), ecclGetLastError());        \
      ++failures;                                                               \
    }                                                                           \
  } while (0)

#endif /* ECCL_TESTS_C_CHECK_H_ */
