/*
 * ECCL: the Elastic Collective Communications Library. C99 API.
 *
 * Conventions, which every function follows:
 *  - Every function returns an ecclResult_t; ecclSuccess is 0.
 *  - On failure, ecclGetLastError() returns a text naming what failed and why
 *    (which peer, which operation, which field). The text is per thread and is
 *    replaced by the next failing call on the same thread.
 *  - No C++ exception ever crosses this interface.
 *
 * This header is plain C99 (it compiles with -std=c99 -Wall -Werror -pedantic).
 */
#ifndef ECCL_ECCL_H_
#define ECCL_ECCL_H_

#ifdef __cplusplus
extern "C" {
#endif

#define ECCL_VERSION_MAJOR 0
#define ECCL_VERSION_MINOR 1
#define ECCL_VERSION_PATCH 0
/* One integer that orders versions: 10000*major + 100*minor + patch. */
#define ECCL_VERSION_CODE \
  (ECCL_VERSION_MAJOR * 10000 + ECCL_VERSION_MINOR * 100 + ECCL_VERSION_PATCH)

#if defined(__GNUC__)
#define ECCL_API __attribute__((visibility("default")))
#else
#define ECCL_API
#endif

typedef enum {
  ecclSuccess = 0,
  ecclInvalidArgument = 1, /* an argument is unusable: null, wrong size, unknown enum */
  ecclInvalidUsage = 2,    /* wrong state, or peers disagree on an operation */
  ecclSystemError = 3,     /* the operating system refused (sockets, memory, threads) */
  ecclInternalError = 4,   /* a broken invariant inside ECCL: please report it */
  ecclConnectionError = 5, /* a connection failed, closed or timed out */
  ecclProtocolError = 6,   /* a peer sent bytes that are not valid ECCL protocol */
  ecclTimeout = 7,         /* a deadline passed */
  ecclPeerLost = 8,        /* a peer of the group is gone */
  ecclAborted = 9,         /* the operation was cancelled locally */
  ecclOutOfMemory = 10,
  ecclUnsupported = 11, /* a feature or protocol version this build lacks */
  ecclNumResults = 12
} ecclResult_t;

/* The library's version as ECCL_VERSION_CODE computes it. Lets a program check
 * that the library it loaded matches the header it was compiled against. */
ECCL_API ecclResult_t ecclGetVersion(int* version);

/* A static, human-readable name for a result code ("ecclPeerLost: a peer ..."). Never NULL. */
ECCL_API const char* ecclGetErrorString(ecclResult_t result);

/* The detail of the last failing call on this thread, or "" if none failed. The
 * pointer stays valid until the next ECCL call on this thread. Never NULL. */
ECCL_API const char* ecclGetLastError(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ECCL_ECCL_H_ */
