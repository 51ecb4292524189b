/**
 * @file
 * ECCL: the Elastic Collective Communications Library. C99 API.
 *
 * Conventions, which every function follows:
 *  - Every function but ecclGetErrorString and ecclGetLastError returns an
 *    ecclResult_t; ecclSuccess is 0.
 *  - On failure, ecclGetLastError() returns a text naming what failed and why
 *    (which peer, which operation, which field). The text is per thread and is
 *    replaced by the next failing call on the same thread.
 *  - No C++ exception ever crosses this interface.
 *
 * This header is plain C99 (it compiles with -std=c99 -Wall -Werror -pedantic).
 *
 * Handles and threads
 * -------------------
 * A master (ecclMaster_t) and a communicator (ecclComm_t) are opaque handles
 * that the caller owns from Create to Destroy. Which calls may run at the same
 * time on ONE handle (different handles are independent):
 *
 * <pre>
 *   call (on one handle)           | may overlap with
 *   -------------------------------+------------------------------------------
 *   ecclCommAbort                  | any call on the comm but ecclCommDestroy, from
 *   ecclCommPollEvent              |   any thread, at any time
 *   ecclCommGetAttr                |
 *   ecclCommPeersPending           |
 *   ecclCommLookupPeer             |
 *   ecclCommReportMetric           |
 *   ecclCommGetStageInfo           |
 *   ecclCommAnnounceStageRecovered |
 *   ecclCommGetOpStats             |
 *   ecclCommGetLinkStats           |
 *   ecclCommSetEventCallback       |   (also from inside its callback)
 *   ecclCommDumpState              |
 *   ecclSend, ecclRecv             |
 *   ecclTest, ecclWait             |   (on a request of the comm)
 *   ecclCommUpdateTopology         | the calls above and each other: collectives
 *   collectives (and Async)        |   and updates start in call order on the
 *                                  |   comm's op threads (see "Operations")
 *   ecclCommConnect                | the calls above but not Update or collectives
 *   ecclCommFetchGroupState        | the calls above but ecclCommConnect; not a
 *                                  |   second fetch (one at a time per comm)
 *   ecclCommDestroy                | nothing: every other call on the comm has
 *                                  |   returned, and none starts after it; requests
 *                                  |   still outstanding end with ecclAborted
 *   ecclMasterStop                 | any call on the master but ecclMasterDestroy
 *   ecclMasterGetPort              |
 *   ecclMasterGetClusterStats      |
 *   ecclMasterRun                  | Stop, GetPort, Destroy; not a second Run
 *   ecclMasterDestroy              | a Run on another thread only (Destroy stops the
 *                                  |   master and waits for that Run to return)
 * </pre>
 *
 *  - Blocking calls: every call that waits for the network takes a timeout in
 *    milliseconds; a negative timeout means the default of the handle's config
 *    (ecclCommConfig_t.timeout_ms), 0 only checks, and more than a year counts
 *    as a year. A passed deadline is ecclTimeout.
 *  - ecclCommAbort makes every outstanding blocking call and request of the
 *    communicator end with ecclAborted at once, and every later one too.
 *  - ecclCommDestroy is a graceful leave (the other peers see
 *    ECCL_EVENT_PEER_LEFT); it must not race with any other call on the comm.
 *  - The event callback (ecclCommSetEventCallback) runs on a thread of the
 *    comm's own that does nothing else; it may make the non-blocking calls
 *    listed there on its comm, and must not block for long.
 *  - ecclInit need not be called: every function that creates or uses a
 *    handle calls it.
 *  - fork(): handles belong to the process that created them. A forked child
 *    has copies of its parent's handles but none of the threads behind them,
 *    and their sockets and shared-memory rings are still the parent's. In the
 *    child every call on such a handle (comm, master, request, DiLoCo loop)
 *    fails at once with ecclInvalidUsage, and ecclCommDestroy,
 *    ecclMasterDestroy, ecclRequestFree and ecclDilocoDestroy only forget it
 *    (ecclSuccess): nothing is sent, closed or left on the parent's behalf.
 *    A child that is to take part itself should exec (or be spawned):
 *    making new handles in the forked child of a threaded process is not
 *    supported, as a lock some thread of the parent held at the fork (in
 *    the allocator of a sanitizer build, say) stays held there. While a
 *    child lives it keeps the parent's sockets open, so a peer notices the
 *    parent's death only by its heartbeats and op timeouts, not at once.
 *
 * Operations
 * ----------
 * Collectives (ecclAllReduce, ...) and ecclCommUpdateTopology of one comm
 * start in the order they were called, blocking or asynchronous, on threads
 * of the comm; every peer must call them in the same order. Up to 4
 * collectives with DISTINCT tags run at once, each progressing on its own
 * (their data share the ring's channels); a collective whose tag equals a
 * running one's waits for it to end. Their op headers are exchanged one op
 * at a time in that order, so peers that disagree still name the field. An
 * update waits for the collectives called before it and holds back the ones
 * called after it. An ...Async call returns at once with an ecclRequest_t
 * (argument errors are reported at once); ecclTest and ecclWait report its
 * outcome. A failed collective closes the ring's channels, which fails the
 * others in flight too. Point-to-point calls do not queue.
 *
 * Versioned structs
 * -----------------
 * Config and event structs begin with struct_size, the size of the struct as
 * the caller's header defines it. The library accepts a struct_size smaller
 * than today's sizeof as long as it covers every field of the struct's first
 * version (fields beyond struct_size take their defaults); 0, less than that
 * minimum, or more than today's sizeof is ecclInvalidArgument. In this first
 * version the minimum is the full struct. Fill configs with the matching
 * ...ConfigInit function (which writes sizeof of this header's struct), then
 * change fields.
 */
#ifndef ECCL_ECCL_H_
#define ECCL_ECCL_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ECCL_VERSION_MAJOR 0 /**< This header's major version. */
#define ECCL_VERSION_MINOR 1 /**< This header's minor version. */
#define ECCL_VERSION_PATCH 0 /**< This header's patch version. */
/** One integer that orders versions: 10000*major + 100*minor + patch. */
#define ECCL_VERSION_CODE \
  (ECCL_VERSION_MAJOR * 10000 + ECCL_VERSION_MINOR * 100 + ECCL_VERSION_PATCH)

/** Marks the functions the library exports (default symbol visibility with GCC
 * and Clang; nothing elsewhere). */
#if defined(__GNUC__)
#define ECCL_API __attribute__((visibility("default")))
#else
#define ECCL_API
#endif

/** The result codes of the API's functions; ecclGetErrorString names each. */
typedef enum {
  ecclSuccess = 0,         /**< no error */
  ecclInvalidArgument = 1, /**< an argument is unusable: null, wrong size, unknown enum */
  ecclInvalidUsage = 2,    /**< wrong state, or peers disagree on an operation */
  ecclSystemError = 3,     /**< the operating system refused (sockets, memory, threads) */
  ecclInternalError = 4,   /**< a broken invariant inside ECCL: please report it */
  ecclConnectionError = 5, /**< a connection failed, closed or timed out */
  ecclProtocolError = 6,   /**< a peer sent bytes that are not valid ECCL protocol */
  ecclTimeout = 7,         /**< a deadline passed */
  ecclPeerLost = 8,        /**< a peer of the group is gone */
  ecclAborted = 9,         /**< the operation was cancelled locally */
  ecclOutOfMemory = 10,    /**< a memory allocation failed */
  ecclUnsupported = 11,    /**< a feature or protocol version this build lacks */
  ecclAuthError = 12,      /**< the other side lacks the cluster secret or a certificate of the
                                cluster's CA, or refused ours */
  ecclNumResults = 13      /**< the number of result codes above (not a result) */
} ecclResult_t;

/** The library's version as ECCL_VERSION_CODE computes it. Lets a program check
 * that the library it loaded matches the header it was compiled against. */
ECCL_API ecclResult_t ecclGetVersion(int* version);

/** A static, human-readable name for a result code ("ecclPeerLost: a peer ..."). Never NULL. */
ECCL_API const char* ecclGetErrorString(ecclResult_t result);

/** The detail of the last failing call on this thread, or "" if none failed. The
 * pointer stays valid until the next ECCL call on this thread. Never NULL. */
ECCL_API const char* ecclGetLastError(void);

/* ---- Library ------------------------------------------------------------- */

/** Initialises the library: sets the log level from ECCL_LOG
 * (trace|debug|info|warn|error|off; default warn). Idempotent and thread-safe;
 * every function below that creates or uses a handle calls it implicitly. */
ECCL_API ecclResult_t ecclInit(void);

/* ---- Master ---------------------------------------------------------------- */

/** A master: the membership service of a cluster (one per cluster). Opaque. */
typedef struct ecclMaster* ecclMaster_t;

/** A master's settings. Fill with ecclMasterConfigInit, then change fields. */
typedef struct {
  /** sizeof(ecclMasterConfig_t); set by ecclMasterConfigInit. */
  size_t struct_size;
  /** Control listener, "HOST:PORT" or "[V6ADDR]:PORT". Default "0.0.0.0:0" (port 0:
   * a free port, see ecclMasterGetPort). Env ECCL_MASTER_LISTEN. */
  const char* listen_addr;
  /** Peers' heartbeat interval, > 0. Default 250. Env ECCL_HEARTBEAT_MS. */
  uint32_t heartbeat_ms;
  /** Missed heartbeats after which a peer is lost, 1..65535. Default 4. Env ECCL_MISS_LIMIT. */
  uint32_t miss_limit;
  /** Time the members of a new ring get to connect their channels, > 0. Default 10000. */
  uint32_t channel_setup_timeout_ms;
  /** A new connection must register within this, > 0. Default 5000. */
  uint32_t register_timeout_ms;
  /** NULL or "": a random key, so peers' tokens do not survive a master restart.
   * Else a 32-byte key file, created (mode 0600) if absent. Env ECCL_TOKEN_KEY_FILE. */
  const char* token_key_file;
  /* Anomaly detection (eccl-master's flags of the same names; the README's
   * eccl-master section says what each detector finds). Read only when
   * struct_size covers them; older structs get the defaults. */
  /** Ring neighbours blocked on a peer's op header this long, while it is in
   * no collective: hung. 100..3600000, default 10000. */
  uint32_t hung_ms;
  /** The window the detectors compare peers and links over. 500..3600000,
   * default 10000. */
  uint32_t anomaly_window_ms;
  /** A condition (straggler, slow link or node) must hold this long to be
   * found. 0..3600000, default 5000. */
  uint32_t confirm_ms;
  /** A link on which bytes waited and none moved this long is frozen.
   * 100..3600000, default 10000. */
  uint32_t frozen_ms;
  /** At most one eviction for an anomaly per group in this time.
   * 0..86400000, default 30000. */
  uint32_t eviction_cooldown_ms;
  /** 1: evict a hung peer (default); 0: report it only. */
  int32_t evict_hung;
  /** 1: evict a straggler; 0: report it only (default). */
  int32_t evict_stragglers;
  /** 1: evict a slow node; 0: report it only (default). */
  int32_t evict_slow_nodes;
  /** A straggler's neighbours waited for it at least this share of the window
   * (summed over them; 0.001..10, default 0.25)... */
  double straggler_share;
  /** ...and this many times the ring's median (1..1000, default 4). */
  double straggler_factor;
  /** A slow link's bytes waited on it (queued or in flight in its sender's
   * kernel) at least this share of the window (0.01..1, default 0.5)... */
  double link_busy_share;
  /** ...and this many times the median of the ring's other links (1..1000,
   * default 3). */
  double link_busy_factor;
  /** An evicted peer's process may register again (its next comm for this
   * master and group says which of its peers was evicted) only this long
   * after the eviction, doubled for each further eviction of it. 0..86400000,
   * default 10000. Written only when struct_size covers it. */
  uint32_t rejoin_backoff_ms;
  /** The longest such back-off (and how long after it the master still
   * remembers the eviction). 0..86400000, default 300000; never below
   * rejoin_backoff_ms. */
  uint32_t rejoin_backoff_max_ms;
  /** The cluster secret's file: every connection must prove it holds the same
   * bytes (README, "Cluster secret"). NULL or "": none. Env ECCL_SECRET_FILE.
   * A struct_size that ends before it: the environment decides, as it did for
   * the four fields below. */
  const char* secret_file;
  /** TLS 1.3 on every connection (README, "TLS"): the PEM bundle of the
   * cluster's CA, this master's certificate chain and its private key; all
   * three or none (NULL or "": no TLS). Env ECCL_TLS_CA, ECCL_TLS_CERT,
   * ECCL_TLS_KEY. */
  const char* tls_ca_file;
  const char* tls_cert_file; /**< see tls_ca_file */
  const char* tls_key_file;  /**< see tls_ca_file */
} ecclMasterConfig_t;

/** Fills *config with the defaults, then applies the environment variables
 * named above. Strings it stores point to library-owned memory that lives
 * until the process exits (a later setenv does not change them); strings the
 * caller puts there are only read during ecclMasterCreate.
 * Errors: ecclInvalidArgument for a NULL config or a malformed environment
 * value (the last-error text names the variable); *config then holds the defaults.
 * Thread-safe; does not block. */
ECCL_API ecclResult_t ecclMasterConfigInit(ecclMasterConfig_t* config);

/** Creates a master and binds its listening socket; it serves nothing before
 * ecclMasterRun. On success *master is a new handle the caller owns (free it
 * with ecclMasterDestroy); on failure *master is NULL.
 * With config->secret_file set (a file of 16 to 4096 bytes), every connection
 * must prove it holds the same cluster secret before its first frame; others
 * are refused and logged (README, "Cluster secret"). With tls_ca_file,
 * tls_cert_file and tls_key_file set (PEM files), every connection must be
 * TLS 1.3 with a certificate that CA signed (README, "TLS 1.3"). A config
 * whose struct_size ends before these fields takes them from ECCL_SECRET_FILE
 * and ECCL_TLS_CA, ECCL_TLS_CERT, ECCL_TLS_KEY.
 * Errors: ecclInvalidArgument (NULL pointers, bad struct_size, bad field: the
 * text names it, unusable token key file, secret file or TLS files),
 * ecclSystemError
 * (cannot bind).
 * Thread-safe; does not block beyond resolving listen_addr. */
ECCL_API ecclResult_t ecclMasterCreate(const ecclMasterConfig_t* config, ecclMaster_t* master);

/** The port the master listens on (useful with port 0 in listen_addr).
 * Errors: ecclInvalidArgument for NULL arguments. Any thread; does not block. */
ECCL_API ecclResult_t ecclMasterGetPort(ecclMaster_t master, uint16_t* port);

/** Serves peers on the calling thread until ecclMasterStop; returns ecclSuccess
 * then. Returns at once if the master was stopped before. Blocks with no
 * deadline: its end is ecclMasterStop. At most one Run per master at a time
 * (a second concurrent one is ecclInvalidUsage).
 * Errors: ecclInvalidArgument (NULL), ecclInvalidUsage, ecclInternalError. */
ECCL_API ecclResult_t ecclMasterRun(ecclMaster_t master);

/** Closes every connection and makes ecclMasterRun return. Any thread, any
 * number of times, until ecclMasterDestroy is called; does not block. Not
 * async-signal-safe (from a signal handler, wake a thread that calls it).
 * Errors: ecclInvalidArgument (NULL). */
ECCL_API ecclResult_t ecclMasterStop(ecclMaster_t master);

/** Stops the master, waits until an ecclMasterRun in progress on another thread
 * has returned, and frees the handle. The rule: no call on the master may start
 * once Destroy has begun (join the thread that ran Run before reusing anything
 * it shared). NULL is a no-op. Blocks until Run has returned (a few
 * milliseconds: Run winds down as soon as it is stopped). */
ECCL_API ecclResult_t ecclMasterDestroy(ecclMaster_t master);

/* ---- Communicator ------------------------------------------------------------ */

/** A peer's membership in a group. Opaque. */
typedef struct ecclComm* ecclComm_t;

/** A peer's identifier: 16 random bytes, unique in the cluster. */
typedef struct {
  unsigned char bytes[16]; /**< the id's 16 bytes */
} ecclPeerId_t;

/** A communicator's settings. Fill with ecclCommConfigInit, then change fields. */
typedef struct {
  /** sizeof(ecclCommConfig_t); set by ecclCommConfigInit. */
  size_t struct_size;
  /** The master's "HOST:PORT" (port > 0). Required. Env ECCL_MASTER. */
  const char* master;
  /** The group to join, 1..128 bytes. Default "default". Env ECCL_GROUP. */
  const char* group;
  /** Data listener "HOST:PORT". Default "0.0.0.0:0" (a free port). Env ECCL_LISTEN_ADDR. */
  const char* listen_addr;
  /** What other peers connect to: NULL or "" = the address the master sees this
   * peer at; "HOST" (with the listener's port) or "HOST:PORT". Env ECCL_ADVERTISE_ADDR. */
  const char* advertise_addr;
  /** TCP connections per data channel, 1..256. Default 4. Env ECCL_CONNECTIONS.
   * A channel over a long link opens more, one per 6.25 ms of the round trip
   * its first connection's handshake took, up to 16 (never fewer than this). */
  uint32_t connections_per_peer;
  /** Default deadline of blocking calls, > 0. Default 30000. Env ECCL_TIMEOUT_MS. */
  uint32_t timeout_ms;
  /** 1: an in-place ecclAllReduce that fails puts the caller's input back in
   * its buffer (it keeps a copy of the buffer from the op's start: that much
   * memory and one memcpy per op); 0 (default): the buffer is undefined after
   * a failure. Env ECCL_PRESERVE_INPUT (0 or 1). A struct_size that ends
   * before it (a caller built against an older header) means 0. */
  uint32_t preserve_input;
  /** All-reduces of at most this many bytes run by recursive doubling between
   * partners (about log2(N) exchanges: latency-bound sizes); larger ones by
   * the pipelined ring (2(N-1) steps: bandwidth-bound sizes). Default 65536;
   * 0: always the ring; 4294967295: always recursive doubling. Every peer of a
   * group must use the same value (peers on different algorithms never meet
   * and time out). With a value > 0 each peer keeps channels to its
   * log2(N)+1 partners besides its ring neighbours. Env
   * ECCL_SMALL_ALLREDUCE_BYTES. A struct_size that ends before it means 65536. */
  uint32_t small_allreduce_bytes;
  /** The pipeline stage this peer's group holds (CheckFree recovery: see
   * "Pipeline stages"): 0..num_stages-1, or -1 (default) for a group that is
   * no pipeline stage. Every peer of a group passes the same stage; the master
   * refuses a registration whose group, stage or num_stages conflicts with
   * the pipeline's (ecclCommConnect fails with ecclInvalidUsage naming the
   * conflict). Env ECCL_STAGE. A struct_size that ends before it means -1. */
  int32_t stage;
  /** The pipeline's number of stages, 1..4096 with a stage; 0 (default)
   * without one. Env ECCL_NUM_STAGES. A struct_size that ends before it means 0. */
  int32_t num_stages;
  /** The cluster secret's file, as the master's (covers this peer's
   * connections to the master and to other peers). NULL or "": none. Env
   * ECCL_SECRET_FILE. A struct_size that ends before it: the environment
   * decides, as it did for the five fields below. */
  const char* secret_file;
  /** TLS 1.3: the PEM bundle of the cluster's CA, this peer's certificate
   * chain and its private key; all three or none (NULL or "": no TLS). The
   * connection to the master is TLS with them, and so are the data channels
   * tls_data picks. Env ECCL_TLS_CA, ECCL_TLS_CERT, ECCL_TLS_KEY. */
  const char* tls_ca_file;
  const char* tls_cert_file; /**< see tls_ca_file */
  const char* tls_key_file;  /**< see tls_ca_file */
  /** Which data channels use TLS when this peer has certificates: "auto"
   * (NULL, "" or the default: those to peers beyond the loopback interface),
   * "on" (all), "off" (none). Every peer of a cluster must pick the same.
   * Env ECCL_TLS_DATA. */
  const char* tls_data;
  /** How data channels move their bytes: "auto" (NULL, "" or the default:
   * through shared memory to peers on this host, over RDMA to the others
   * where both ends have an RDMA device and the channel is not TLS, TCP
   * otherwise), "tcp" (TCP only), "shm" (shared memory or TCP), "rdma" (RDMA
   * or TCP, never shared memory); "shm" and "rdma" warn for each connection
   * left on TCP. Env ECCL_TRANSPORT (and ECCL_RDMA_GID_INDEX: the GID table
   * entry RDMA uses). A struct_size that ends before it: the environment decides. */
  const char* transport;
} ecclCommConfig_t;

/** Fills *config with the defaults (master NULL), then applies the environment
 * variables named above; same string ownership, errors and thread-safety as
 * ecclMasterConfigInit. */
ECCL_API ecclResult_t ecclCommConfigInit(ecclCommConfig_t* config);

/** Creates a communicator: opens its data listener; says nothing to the master
 * until ecclCommConnect. The config's strings are copied. On success *comm is
 * a new handle the caller owns (free it with ecclCommDestroy); on failure NULL.
 * config->secret_file, as for ecclMasterCreate, covers its connections to
 * the master and to other peers; ecclCommConnect then fails with
 * ecclAuthError when the master holds another secret. So do tls_ca_file,
 * tls_cert_file and tls_key_file (TLS 1.3 to the master, and to the peers
 * tls_data picks: auto, the default, for those beyond loopback, on, off);
 * ecclCommConnect fails with ecclAuthError when the master refuses this
 * peer's certificate or this peer the master's. A config whose struct_size
 * ends before these fields takes them from the environment (ECCL_SECRET_FILE,
 * ECCL_TLS_CA, ECCL_TLS_CERT, ECCL_TLS_KEY, ECCL_TLS_DATA).
 * Errors: ecclInvalidArgument (NULL pointers, bad struct_size, bad field: the
 * text names it, unusable secret or TLS files, bad tls_data or transport),
 * ecclSystemError (cannot listen).
 * Thread-safe; does not block. */
ECCL_API ecclResult_t ecclCommCreate(const ecclCommConfig_t* config, ecclComm_t* comm);

/** Registers with the master and blocks until this peer is accepted into its
 * group: at once in an empty group, else at the next ecclCommUpdateTopology of
 * the accepted peers. timeout_ms < 0: the config's timeout_ms. Once per comm.
 * An unreachable master is retried with back-off until the deadline.
 * Errors: ecclTimeout (the deadline passed: the peer stays registered as
 * pending and Connect cannot be repeated; destroy the comm), ecclAborted (ecclCommAbort),
 * ecclConnectionError or ecclProtocolError (the master refused or broke the connection),
 * ecclInvalidUsage (called twice), ecclPeerLost (removed by the master). */
ECCL_API ecclResult_t ecclCommConnect(ecclComm_t comm, int64_t timeout_ms);

/** A collective point of the accepted peers of the group: every accepted peer
 * calls it; it admits the pending peers, settles departures, and returns once
 * the new ring's data channels are up (rank, world size and revision are then
 * the new ring's). timeout_ms < 0: the config's timeout_ms.
 * Errors: ecclTimeout, ecclAborted, ecclInvalidUsage (not accepted yet),
 * ecclPeerLost, ecclConnectionError. */
ECCL_API ecclResult_t ecclCommUpdateTopology(ecclComm_t comm, int64_t timeout_ms);

/** How many peers wait for admission at the next ecclCommUpdateTopology, as the
 * master last said. The count trails the master by one message: read just after
 * ecclCommConnect returns, it may still count this peer; a peer's
 * ECCL_EVENT_PEER_JOINED arrives before the count that includes it.
 * Any thread, at any time; does not block. Errors: ecclInvalidArgument (NULL). */
ECCL_API ecclResult_t ecclCommPeersPending(ecclComm_t comm, int* pending);

/** Attributes readable with ecclCommGetAttr; the comment gives the value's type. */
typedef enum {
  ECCL_ATTR_RANK = 1,          /**< int32_t: this peer's rank in the ring; -1 until accepted */
  ECCL_ATTR_WORLD_SIZE = 2,    /**< int32_t: peers in the ring; 0 until accepted */
  ECCL_ATTR_GROUP = 3,         /**< char[]: the group name, NUL-terminated */
  ECCL_ATTR_PEER_ID = 4,       /**< ecclPeerId_t: this peer's id */
  ECCL_ATTR_REVISION = 5,      /**< uint64_t: revision of the committed ring; 0 until accepted */
  ECCL_ATTR_PEERS_PENDING = 6, /**< int32_t: as ecclCommPeersPending */
  /** int32_t: shared-state fetches of joining peers (ecclCommConnectWithState)
   * or of other groups' peers (ecclCommFetchGroupState) this member is
   * serving in the background right now */
  ECCL_ATTR_FETCHES_SERVING = 7,
  /** int32_t: the pipeline stage of the comm's config; -1 when it has none */
  ECCL_ATTR_STAGE = 8
} ecclCommAttr_t;

/** Copies an attribute into value, which has room for size bytes. size must be
 * the attribute's size exactly, except for ECCL_ATTR_GROUP: at least the name's
 * length + 1. Any thread, at any time; does not block.
 * Errors: ecclInvalidArgument (NULL, unknown attr, wrong size: the text gives
 * the size needed). */
ECCL_API ecclResult_t ecclCommGetAttr(ecclComm_t comm, ecclCommAttr_t attr, void* value,
                                      size_t size);

/** Membership events, as ecclCommPollEvent reports them. */
typedef enum {
  ECCL_EVENT_NONE = 0,         /**< no event was queued */
  ECCL_EVENT_PEER_JOINED = 1,  /**< a peer registered in the group (pending until admitted) */
  ECCL_EVENT_PEER_LEFT = 2,    /**< a peer left gracefully (ecclCommDestroy) */
  ECCL_EVENT_PEER_LOST = 3,    /**< a peer stopped answering or closed its connection */
  ECCL_EVENT_PEER_EVICTED = 4, /**< the master removed a misbehaving peer */
  /** the last peer of a pipeline stage's group is gone (left, lost or
   * evicted), and the stage had had an accepted peer: its weights are gone
   * (see "Pipeline stages"); every comm with a stage hears of it, pending
   * ones included, and no other comm */
  ECCL_EVENT_STAGE_LOST = 5,
  /** a lost stage is held again: an accepted peer of its group rebuilt the
   * stage's weights and said so with ecclCommAnnounceStageRecovered (its
   * admission alone does not raise it); revision is the round it passed, from
   * which the stage trains again. Every comm with a stage hears of it, as of
   * ECCL_EVENT_STAGE_LOST */
  ECCL_EVENT_STAGE_RESTORED = 6,
  /** the master's detectors found a peer of the group hung: its ring
   * neighbours have been blocked on it (waiting for it to enter their
   * collective) for the master's --hung-ms while it is in no collective, or
   * the rest of its ring voted for a topology update that long ago and waits
   * for its vote. By
   * default the master evicts it next (ECCL_EVENT_PEER_EVICTED), which ends
   * the ring's op with ecclPeerLost. value: how long they were blocked (ms);
   * threshold: --hung-ms */
  ECCL_EVENT_HUNG_PEER = 7,
  /** the master's detectors found a peer of the group straggling: over the
   * master's window its ring waited for it far longer than for the ring's
   * other peers: its neighbours for it to enter their collectives, and the
   * first voter of each topology update for its vote. value: that time
   * (ms, summed); threshold: what it had to reach.
   * Reported only, unless the master evicts stragglers */
  ECCL_EVENT_STRAGGLER = 8,
  /** The master found a slow ring link, from peer to link_to: its sender's
   * bytes waited on it (queued or in flight in the kernel) for far more of the
   * master's window than on the ring's other links. value: that share of the window (0..1);
   * threshold: what it had to reach. Reported only */
  ECCL_EVENT_SLOW_LINK = 9,
  /** The master found a slow node, peer: each of its ring links busy as
   * ECCL_EVENT_SLOW_LINK describes (value: the least busy one's share).
   * Reported only, unless the master evicts slow nodes */
  ECCL_EVENT_SLOW_NODE = 10,
  /** The master found a frozen link, from peer to link_to: bytes wait on it
   * and none has moved for value ms (threshold: the master's limit).
   * Reported only */
  ECCL_EVENT_FROZEN_LINK = 11
} ecclEventKind_t;

/** A membership event (a versioned struct: the caller sets struct_size). */
typedef struct {
  size_t struct_size;   /**< set by the caller: sizeof(ecclEvent_t) */
  ecclEventKind_t kind; /**< ECCL_EVENT_NONE when the queue was empty */
  ecclPeerId_t peer;    /**< the peer the event is about (all zero for stage events) */
  /** The group's revision when the master announced it. For
   * ECCL_EVENT_STAGE_RESTORED: the round the announcer passed to
   * ecclCommAnnounceStageRecovered; 0 for ECCL_EVENT_STAGE_LOST. */
  uint64_t revision;
  /** The stage of ECCL_EVENT_STAGE_LOST and ECCL_EVENT_STAGE_RESTORED, -1
   * for the others; written only when struct_size covers it. */
  int32_t stage;
  /** The anomaly events (ECCL_EVENT_HUNG_PEER and later): the evidence (see
   * them), 0 for the others; written only when struct_size covers it. */
  double value;
  /** What value had to reach to raise the event; as value. */
  double threshold;
  /** ECCL_EVENT_SLOW_LINK, ECCL_EVENT_FROZEN_LINK: the link's receiving end
   * (peer is its sender); all zero for the others. Written only when
   * struct_size covers it. */
  ecclPeerId_t link_to;
} ecclEvent_t;

/** Takes the oldest queued membership event of the comm's group. Events are
 * sent to accepted peers (the ones that vote on admissions): a pending peer
 * learns of the group's changes from the ring it is admitted into. (The queue holds
 * 4096 events; older ones are dropped if nobody polls). Never blocks; kind is ECCL_EVENT_NONE
 * when there is none. While an event callback is set, new events go to it
 * instead (ecclCommSetEventCallback). The caller sets event->struct_size
 * before the call. Any thread, at any time. Errors: ecclInvalidArgument
 * (NULL, bad struct_size). */
ECCL_API ecclResult_t ecclCommPollEvent(ecclComm_t comm, ecclEvent_t* event);

/** Receives the comm's events while set with ecclCommSetEventCallback. event
 * is valid during the call only; its struct_size is the library's
 * sizeof(ecclEvent_t) (a caller built against an older header reads only the
 * fields it knows). user_data is what was passed with the callback. */
typedef void (*ecclEventCallback_t)(const ecclEvent_t* event, void* user_data);

/** Sets the comm's event callback, or removes it (callback NULL). While one is
 * set, every event the comm would queue for ecclCommPollEvent goes to the
 * callback instead, and is not queued; events queued before it was set stay
 * for ecclCommPollEvent. Once it is removed, events are queued again, the
 * ones it had not been handed yet first (the queue's bound of 4096 events
 * applies). Replacing one callback by another is allowed.
 *
 * The callback runs on a thread of the comm's own, started with the first
 * callback, that does nothing else: one event at a time, in order. A slow
 * callback delays only later events, but it must not block for long. From
 * inside it, on its comm, it may make the calls that never block:
 * ecclCommGetAttr, ecclCommPeersPending, ecclCommPollEvent,
 * ecclCommGetOpStats, ecclCommGetLinkStats, ecclCommDumpState,
 * ecclCommReportMetric, ecclCommAbort and ecclCommSetEventCallback (which
 * then returns at once). It must not call ecclCommDestroy (that is
 * ecclInvalidUsage) and should not wait for the network (collectives,
 * ecclCommConnect, ecclCommUpdateTopology, ...: later events wait as long).
 *
 * From any other thread, ecclCommSetEventCallback returns once the previous
 * callback is not running: after it returns, the old one is never called
 * again (so do not call it while holding a lock that the callback takes).
 * ecclCommDestroy removes the callback first, the same way. Any thread, at
 * any time. Errors: ecclInvalidArgument (NULL comm). */
ECCL_API ecclResult_t ecclCommSetEventCallback(ecclComm_t comm, ecclEventCallback_t callback,
                                               void* user_data);

/** Ends every outstanding blocking call of the comm at once with ecclAborted;
 * later blocking calls fail the same way: the comm is unusable afterwards
 * (destroy it). Any thread, at any time, idempotent; does not block.
 * Errors: ecclInvalidArgument (NULL). */
ECCL_API ecclResult_t ecclCommAbort(ecclComm_t comm);

/** Leaves the group gracefully (the master tells the other peers) and frees the
 * comm. Must not race with any other call on the same comm. NULL is a no-op.
 * Blocks at most about a second to hand the leave to the master, and until a
 * running event callback has returned. From inside the comm's event callback
 * it is ecclInvalidUsage (the comm is not freed). */
ECCL_API ecclResult_t ecclCommDestroy(ecclComm_t comm);

/** Writes the id as 32 lowercase hex digits and a NUL; size must be at least 33.
 * Thread-safe. Errors: ecclInvalidArgument (NULL, size too small). */
ECCL_API ecclResult_t ecclPeerIdToString(const ecclPeerId_t* id, char* buffer, size_t size);

/* ---- Pipeline stages ----------------------------------------------------------- */

/* In pipeline-parallel training each stage of the model is held by a group;
 * a comm joins one with ecclCommConfig_t.stage and num_stages. The master
 * binds each stage to one group and raises ECCL_EVENT_STAGE_LOST on every comm
 * of every stage group when the last peer of a stage is gone. Peers report a
 * scalar per round (CheckFree: the L2 norm of the stage's gradient), and
 * anyone may read a stage's latest one, so that a replacement can weigh its
 * neighbours' weights. A lost stage keeps its group and last metric.
 *
 * Recovery: a replacement registers for the lost stage's group; once it is
 * accepted the stage is ECCL_STAGE_RECOVERING (no event yet). It reads its
 * neighbours' metrics (ecclCommGetStageInfo) and shared state
 * (ecclCommFetchGroupState; the neighbours keep syncing meanwhile), rebuilds
 * the weights (ecclStageRecover), then calls ecclCommAnnounceStageRecovered
 * with the round from which the stage trains again: the stage is
 * ECCL_STAGE_ACTIVE, and every stage comm gets ECCL_EVENT_STAGE_RESTORED with
 * that round (ecclEvent_t.revision), so that all stages resume at the same
 * round. If the replacement is gone before it announces, the stage is lost
 * again (ECCL_EVENT_STAGE_LOST once more). A stage that was never lost needs
 * no announcement (one changes nothing).
 *
 * The pipeline is forgotten once no stage peer is registered. The master
 * keeps all this in memory only: a restarted master rebuilds the stages from
 * the peers that register again and forgets lost and recovering states and
 * metrics. */

/** What the master knows about a stage (ecclStageInfo_t.state). */
typedef enum {
  ECCL_STAGE_UNKNOWN = 0, /**< no group holds the stage */
  ECCL_STAGE_ACTIVE = 1,  /**< a group holds it and it is neither lost nor recovering */
  ECCL_STAGE_LOST = 2,    /**< every peer of its group is gone; group and metric are kept */
  /** it was lost, then a peer of its group was accepted, and no peer has
   * announced the stage's weights rebuilt yet (ecclCommAnnounceStageRecovered) */
  ECCL_STAGE_RECOVERING = 3
} ecclStageState_t;

/** A stage as the master knows it (a versioned struct: the caller sets struct_size). */
typedef struct {
  size_t struct_size;       /**< set by the caller: sizeof(ecclStageInfo_t) */
  int32_t stage;            /**< the stage asked about */
  ecclStageState_t state;   /**< see ecclStageState_t */
  char group[129];          /**< the group holding it, NUL-terminated; "" when unknown */
  int32_t accepted;         /**< accepted peers of that group now */
  int32_t has_metric;       /**< 1: the three fields below hold its latest metric; 0: none yet */
  uint64_t metric_round;    /**< the round of that metric (the highest reported) */
  double metric;            /**< its value; at equal rounds the later report wins */
  ecclPeerId_t metric_peer; /**< the peer that reported it */
} ecclStageInfo_t;

/** Reports this stage's metric for `round` (e.g. the L2 norm of its averaged,
 * clipped gradient) to the master, which keeps the latest per stage: the
 * highest round, and at equal rounds the later report. Does not block: the
 * report is queued, and one made while the master is unreachable is lost
 * (report every round). Any thread, at any time.
 * Errors: ecclInvalidArgument (NULL comm, value NaN, infinite or negative),
 * ecclInvalidUsage (the comm has no stage, or is not accepted yet),
 * ecclAborted, ecclPeerLost (this peer was removed). */
ECCL_API ecclResult_t ecclCommReportMetric(ecclComm_t comm, uint64_t round, double value);

/** Asks the master about any stage of the pipeline (0..4095) and blocks for
 * its answer (one round trip) until timeout_ms (< 0: the config's). Any comm
 * may ask, with a stage or without; any thread once ecclCommConnect has
 * started. On success *info is filled (struct_size must be sizeof(ecclStageInfo_t)).
 * Errors: ecclInvalidArgument (NULL, bad struct_size, stage out of range),
 * ecclInvalidUsage (not connected), ecclTimeout (the master did not answer),
 * ecclAborted, ecclPeerLost (this peer was removed). */
ECCL_API ecclResult_t ecclCommGetStageInfo(ecclComm_t comm, int32_t stage, ecclStageInfo_t* info,
                                           int64_t timeout_ms);

/** Announces that this comm holds its stage's weights again (a replacement
 * that rebuilt them from its neighbours'): a recovering stage becomes active,
 * and every comm with a stage gets ECCL_EVENT_STAGE_RESTORED whose revision is
 * `round`, the training round from which the stage trains again (the
 * announcer's choice). Announcing a stage that is active already (another
 * peer of its group announced first, or it was never lost) succeeds and
 * changes nothing. Blocks for the master's answer (one round trip) until
 * timeout_ms (< 0: the config's); then, if info is not NULL, fills *info with
 * this comm's stage as the master sees it after the announcement
 * (struct_size must be sizeof(ecclStageInfo_t)). Any thread once accepted.
 * Errors: ecclInvalidArgument (NULL comm, bad struct_size),
 * ecclInvalidUsage (the comm has no stage, or is not accepted yet),
 * ecclTimeout (the master did not answer), ecclAborted, ecclPeerLost (this
 * peer was removed). */
ECCL_API ecclResult_t ecclCommAnnounceStageRecovered(ecclComm_t comm, uint64_t round,
                                                     int64_t timeout_ms, ecclStageInfo_t* info);

/* ---- Observability ---------------------------------------------------------------- */

/** How far a collective got (ecclOpStats_t.phase). */
typedef enum {
  ECCL_OP_QUEUED = 0,     /**< submitted, waiting for its turn on the comm's op threads */
  ECCL_OP_HEADERS = 1,    /**< exchanging op headers with its neighbours (the agreement check) */
  ECCL_OP_DATA = 2,       /**< moving data */
  ECCL_OP_COMPLETION = 3, /**< its data is complete here; agreeing on the outcome */
  ECCL_OP_DONE = 4        /**< returned: see result */
} ecclOpPhase_t;

/** One collective in the comm's flight recorder (ecclCommGetOpStats). Wall
 * times are nanoseconds since the Unix epoch (CLOCK_REALTIME), 0 when not
 * reached yet. A versioned struct: see ecclCommGetOpStats for how to pass an
 * array of them. */
typedef struct {
  size_t struct_size; /**< set by the caller: sizeof(ecclOpStats_t) */
  /** The comm's op number, in the order ops started; UINT64_MAX while queued. */
  uint64_t sequence;
  char name[24];             /**< "allReduce", "broadcast", ... (NUL-terminated) */
  uint64_t tag;              /**< the op's tag */
  uint64_t revision;         /**< the ring's revision it ran at */
  int32_t rank;              /**< this peer's rank in that ring; -1 if it never had one */
  int32_t world_size;        /**< that ring's size; 0 if it never had one */
  ecclPeerId_t prev;         /**< the peer it received from (all zero: none) */
  ecclPeerId_t next;         /**< the peer it sent to (all zero: none) */
  int64_t submitted_unix_ns; /**< when it was called */
  int64_t started_unix_ns;   /**< when it left the queue */
  int64_t finished_unix_ns;  /**< when it returned */
  ecclOpPhase_t phase;       /**< how far it got; ECCL_OP_DONE once it returned */
  ecclResult_t result;       /**< its outcome once done; ecclSuccess while running */
  /** What it sent: its data so far while it runs; once done, as ecclOpInfo_t
   * reports it (its op headers included). */
  uint64_t bytes_sent;
  uint64_t bytes_received; /**< as bytes_sent, for what it received */
  /** Time its thread was blocked until a transfer from prev (to next) ended:
   * a large share shows which neighbour it waited for (a straggler, a hung
   * peer, a slow link). Ring collectives only; 0 for the small all-reduce. */
  uint64_t wait_prev_ns;
  uint64_t wait_next_ns; /**< as wait_prev_ns, for transfers to next */
} ecclOpStats_t;

/** The comm's flight recorder: its last 64 collectives (broadcast, all-gather,
 * reduce-scatter, all-to-all, barrier, all-reduce and its batch form),
 * oldest first, running and queued ones included with their progress so far.
 * ops[0].struct_size, set by the caller, gives the size of each element of the
 * array (every element has the same); each element written gets it too.
 * *count: the ops written, at most capacity (the newest ones when there are
 * more). ops may be NULL with capacity 0: *count is then how many there are.
 * Any thread, any time. Errors: ecclInvalidArgument (NULL comm or count, NULL
 * ops with capacity > 0, a bad struct_size). */
ECCL_API ecclResult_t ecclCommGetOpStats(ecclComm_t comm, ecclOpStats_t* ops, size_t capacity,
                                         size_t* count);

/** A data channel of the comm to another peer (ecclCommGetLinkStats). */
typedef struct {
  size_t struct_size;         /**< set by the caller: sizeof(ecclLinkStats_t) */
  ecclPeerId_t peer;          /**< the peer at the other end */
  char address[64];           /**< its "ip:port" (NUL-terminated, cut if longer) */
  int32_t rank;               /**< its rank in this comm's ring; -1 outside the ring */
  int32_t open;               /**< 1 while the channel works, 0 once it failed or closed */
  int32_t connections;        /**< TCP connections striped under it */
  uint64_t bytes_sent;        /**< message bytes sent since it opened */
  uint64_t bytes_received;    /**< message bytes received since it opened */
  uint64_t messages_sent;     /**< messages (chunks and headers) sent */
  uint64_t messages_received; /**< messages received */
  uint64_t hedged_chunks;     /**< late chunks re-sent on another of its connections */
  /** Bytes per second that the recorded ops which succeeded moved to (from)
   * this peer as their next (previous) neighbour, over their durations: the
   * link's rate as the collectives saw it; 0 when no recorded op used it. */
  double send_bytes_per_s;
  double recv_bytes_per_s; /**< as send_bytes_per_s, for the bytes received from the peer */
} ecclLinkStats_t;

/** The comm's data channels, ring neighbours first (by rank), then the
 * others (recursive-doubling partners, point-to-point peers). Same array
 * rules as ecclCommGetOpStats (links[0].struct_size sizes every element).
 * Any thread, any time. Errors: as ecclCommGetOpStats. */
ECCL_API ecclResult_t ecclCommGetLinkStats(ecclComm_t comm, ecclLinkStats_t* links, size_t capacity,
                                           size_t* count);

/** Writes the comm's state as text (membership, links, the flight recorder's
 * ops with how far each got and which neighbour it waited for) to the log at
 * warn level and, when text is not NULL, into text (NUL-terminated, cut to
 * capacity - 1 bytes). *length (when not NULL): the text's full length
 * without the NUL. The comm logs the same by itself when a collective times
 * out, and when the process gets SIGUSR1 (ECCL_DUMP_SIGNAL=N picks another
 * signal, 0 none; taking the signal replaces its default action, which for
 * SIGUSR1 ends the process, and any handler the application set). Any
 * thread, any time. Errors: ecclInvalidArgument (NULL comm; NULL text with
 * capacity > 0). */
ECCL_API ecclResult_t ecclCommDumpState(ecclComm_t comm, char* text, size_t capacity,
                                        size_t* length);

/* ---- Cluster health (master) --------------------------------------------------------- */

/** The master's counters (ecclMasterGetClusterStats): totals since it started. */
typedef struct {
  size_t struct_size;     /**< set by the caller: sizeof(ecclClusterStats_t) */
  uint64_t incarnation;   /**< the master's incarnation (peers see it change on a restart) */
  uint64_t registrations; /**< peers registered */
  uint64_t rejected_registrations; /**< registrations refused */
  uint64_t heartbeats;             /**< heartbeats received */
  uint64_t votes;                  /**< topology votes received */
  uint64_t commits;                /**< rings committed */
  uint64_t losses;                 /**< peers lost (missed heartbeats, closed connection) */
  uint64_t leaves;                 /**< peers that left gracefully */
  uint64_t evictions;              /**< peers evicted (anomaly_evictions included) */
  uint64_t lookups;                /**< peer lookups answered (ecclCommLookupPeer) */
  uint64_t op_reports;             /**< agreements on a collective's outcome after a failure */
  uint64_t state_syncs;            /**< shared-state syncs that succeeded */
  uint64_t state_syncs_failed;     /**< ... and that failed on every member */
  uint64_t state_fetches;          /**< shared-state snapshots planned for fetchers */
  uint64_t stage_metrics;          /**< stage metrics accepted (ecclCommReportMetric) */
  uint64_t stage_queries;          /**< stage queries answered */
  uint64_t stages_lost;            /**< ECCL_EVENT_STAGE_LOST raised */
  uint64_t stages_restored;        /**< ECCL_EVENT_STAGE_RESTORED raised */
  uint64_t stage_announcements;    /**< ecclCommAnnounceStageRecovered accepted */
  uint64_t peer_reports;           /**< peer reports taken in by the anomaly detectors */
  uint64_t hung_peers;             /**< findings of kind ECCL_EVENT_HUNG_PEER */
  uint64_t stragglers;             /**< ... ECCL_EVENT_STRAGGLER */
  uint64_t slow_links;             /**< ... ECCL_EVENT_SLOW_LINK */
  uint64_t slow_nodes;             /**< ... ECCL_EVENT_SLOW_NODE */
  uint64_t frozen_links;           /**< ... ECCL_EVENT_FROZEN_LINK */
  uint64_t anomaly_evictions;      /**< peers evicted for a finding */
  /** registrations of evicted peers' processes refused within their back-off
   * (ecclMasterConfig_t.rejoin_backoff_ms) */
  uint64_t rejoins_refused;
} ecclClusterStats_t;

/** An accepted peer as the master's anomaly detectors see it, from the reports
 * it sends with its heartbeats (ecclMasterGetClusterStats). */
typedef struct {
  size_t struct_size;     /**< set by the caller: sizeof(ecclPeerHealth_t) */
  ecclPeerId_t peer;      /**< the peer */
  char group[129];        /**< its group, NUL-terminated (names have at most 128 bytes) */
  uint64_t ops_completed; /**< collectives it completed */
  uint64_t ops_failed;    /**< collectives that failed on it */
  /** How far its oldest running collective got; ECCL_OP_DONE: it runs none. */
  ecclOpPhase_t running_phase;
  uint64_t running_tag;    /**< that collective's tag; 0 when it runs none */
  uint32_t running_ms;     /**< how long that collective has been running */
  ecclPeerId_t waiting_on; /**< the neighbour that collective is blocked on; all zero: none */
  uint32_t waiting_ms;     /**< how long it has been blocked on waiting_on */
  /** How late it was to its ring neighbours' collectives over the master's
   * window (ms, summed over them): a straggler's is high. */
  double late_ms;
  int32_t hung;      /**< 1 while a hung-peer finding about it holds */
  int32_t straggler; /**< 1 while a straggler finding about it holds */
  int32_t slow_node; /**< 1 while a slow-node finding about it holds */
} ecclPeerHealth_t;

/** A ring link, from its sender's reports over the master's window
 * (ecclMasterGetClusterStats). */
typedef struct {
  size_t struct_size; /**< set by the caller: sizeof(ecclLinkHealth_t) */
  ecclPeerId_t from;  /**< the sending peer */
  ecclPeerId_t to;    /**< the receiving peer */
  char group[129];    /**< their group, NUL-terminated */
  double bytes_per_s; /**< bytes it carried per second over the window */
  /** The share of the window (0..1) its sender's bytes waited on it (queued
   * or in flight in the kernel). */
  double busy_share;
  uint32_t stalled_ms; /**< bytes wait on it and none has moved for this long; 0: moving */
  int32_t slow;        /**< 1 while part of a slow-link or slow-node finding */
  int32_t frozen;      /**< 1 while a frozen-link finding about it holds */
} ecclLinkHealth_t;

/** One of the anomaly detectors' latest findings (ecclMasterGetClusterStats):
 * what the accepted peers of its group received as an event. */
typedef struct {
  size_t struct_size;   /**< set by the caller: sizeof(ecclAnomalyFinding_t) */
  ecclEventKind_t kind; /**< ECCL_EVENT_HUNG_PEER .. ECCL_EVENT_FROZEN_LINK */
  ecclPeerId_t peer;    /**< as ecclEvent_t.peer */
  ecclPeerId_t link_to; /**< as ecclEvent_t.link_to (all zero but for link findings) */
  char group[129];      /**< the group, NUL-terminated */
  double value;         /**< as ecclEvent_t.value */
  double threshold;     /**< as ecclEvent_t.threshold */
  uint64_t age_ms;      /**< how long ago it was found */
  char evidence[512];   /**< one sentence saying why (NUL-terminated, cut if longer) */
} ecclAnomalyFinding_t;

/** What the master's anomaly detectors see, from one consistent snapshot of
 * the master (refreshed by ecclMasterRun about every 200 ms; before Run it is
 * empty): its counters into *stats, the accepted peers' health, the ring
 * links' rates and its latest findings (at most 64, oldest first).
 *
 * Each array is passed as (array, capacity, count), with the rules of
 * ecclCommGetOpStats for array[0].struct_size (the size of every element;
 * each element written gets it too) and for NULL with capacity 0, except for
 * what *count says: the number the snapshot holds, which may exceed capacity.
 * Then the first capacity peers or links, or the newest capacity findings,
 * are written: grow the array to *count and call again (the next snapshot
 * may hold more). stats->struct_size is set by the caller.
 *
 * Any thread, any time, also while ecclMasterRun runs on another thread; not
 * after ecclMasterDestroy has begun. Does not block (it copies the snapshot).
 * Errors: ecclInvalidArgument (NULL master, stats or count pointer; NULL
 * array with capacity > 0; a bad struct_size of stats or of an array's
 * element [0]); nothing is written then. */
ECCL_API ecclResult_t ecclMasterGetClusterStats(ecclMaster_t master, ecclClusterStats_t* stats,
                                                ecclPeerHealth_t* peers, size_t peer_capacity,
                                                size_t* peer_count, ecclLinkHealth_t* links,
                                                size_t link_capacity, size_t* link_count,
                                                ecclAnomalyFinding_t* findings,
                                                size_t finding_capacity, size_t* finding_count);

/* ---- Collectives ---------------------------------------------------------------- */

/** Element types of collective buffers. */
typedef enum {
  ecclInt8 = 0,     /**< int8_t */
  ecclUint8 = 1,    /**< uint8_t */
  ecclInt16 = 2,    /**< int16_t */
  ecclUint16 = 3,   /**< uint16_t */
  ecclInt32 = 4,    /**< int32_t */
  ecclUint32 = 5,   /**< uint32_t */
  ecclInt64 = 6,    /**< int64_t */
  ecclUint64 = 7,   /**< uint64_t */
  ecclFloat16 = 8,  /**< IEEE binary16, as uint16_t bits */
  ecclBfloat16 = 9, /**< bfloat16, as uint16_t bits */
  ecclFloat32 = 10, /**< float: IEEE binary32 */
  ecclFloat64 = 11  /**< double: IEEE binary64 */
} ecclDataType_t;

/** Reductions. Integer sums and products wrap (two's complement); ecclAvg sums,
 * then divides by the world size (integers truncate toward zero; f16/bf16 go
 * through f32). */
typedef enum {
  ecclSum = 0,  /**< the sum */
  ecclAvg = 1,  /**< the sum divided by the world size */
  ecclProd = 2, /**< the product */
  ecclMin = 3,  /**< the minimum */
  ecclMax = 4   /**< the maximum */
} ecclRedOp_t;

/** What one collective did (a versioned struct: the caller sets struct_size). */
typedef struct {
  size_t struct_size;      /**< set by the caller: sizeof(ecclOpInfo_t) */
  uint64_t bytes_sent;     /**< payload this peer sent: op headers and data */
  uint64_t bytes_received; /**< payload this peer received */
  uint64_t wall_time_ns;   /**< from the call to its return */
  int32_t world_size;      /**< peers that took part */
} ecclOpInfo_t;

/* ---- Quantized all-reduce ---------------------------------------------------- */

/** How an all-reduce quantizes the data it sends. ecclQuantNone sends the data
 * as it is (like quant = NULL). ecclQuantMinMax: per block, the block's min and
 * max map linearly onto the wire type's integers (round to nearest).
 * ecclQuantZeroPointScale: per block, a scale and an integer zero point, with
 * the range widened to include 0 so that zeros stay exactly 0. */
typedef enum {
  ecclQuantNone = 0,          /**< sends the data as it is (like quant = NULL) */
  ecclQuantMinMax = 1,        /**< per block, the block's min and max map linearly onto the
                                   wire type's integers (round to nearest) */
  ecclQuantZeroPointScale = 2 /**< per block, a scale and an integer zero point, with the
                                   range widened to include 0 so that zeros stay exactly 0 */
} ecclQuantAlgorithm_t;

/** What each element becomes on the wire. The integer wires (ecclWireUint8,
 * ecclWireInt8, ecclWireUint16) carry per-block statistics; ecclWireFloat16
 * and ecclWireBfloat16 are a plain round-to-nearest-even conversion of each
 * element (no blocks; the algorithm only has to be other than ecclQuantNone). */
typedef enum {
  ecclWireUint8 = 0,   /**< uint8_t per element, with per-block statistics */
  ecclWireInt8 = 1,    /**< int8_t per element, with per-block statistics */
  ecclWireUint16 = 2,  /**< uint16_t per element, with per-block statistics */
  ecclWireFloat16 = 3, /**< IEEE binary16 per element (round-to-nearest-even, no blocks) */
  ecclWireBfloat16 = 4 /**< bfloat16 per element (round-to-nearest-even, no blocks) */
} ecclWireType_t;

/** A quantization config for the all-reduce calls (their `quant` argument); the
 * caller owns it and it is only read during the call (an ...Async call copies
 * it before returning).
 *
 * Wire layout: with an integer wire each message is a record per block (two
 * floats of the accumulation type: f32, f64 for f64 data) followed by one
 * 1- or 2-byte integer per element; a float wire is 2 bytes per element. So
 * u8 sends about a quarter of f32 data's bytes.
 *
 * Reduction: each reduce-scatter hop dequantizes the partial sum it receives
 * and adds its own data in full precision (f32; f64 for f64 data), and
 * re-quantizes only what it forwards; the owner of each final chunk quantizes
 * it once and every peer, the owner too, decodes those same bytes: every
 * peer's result is bit-identical.
 *
 * Error bound, for ecclSum over N peers (the other ops run quantized too,
 * with bit-identical results, but no bound is stated for them): one
 * quantization reproduces an element of a block with range R = max - min
 * (ecclQuantZeroPointScale: the range widened to include 0) within
 * R / (2 (2^bits - 1)) plus float rounding (8u (R + max|x|), u the unit
 * roundoff of the accumulation type, plus the rounding to f16/bf16 data). The
 * result's error is at most the sum of that bound over the N - 1
 * reduce-scatter hops and the final quantization, each taken over the partial
 * sum's block at that point; src/quant/quant.h states the formula precisely
 * (quant::ringErrorBound, proved in src/quant/error_bound.cc). A priori, with
 * every input |x| <= X, it is about N (N + 1) / 2 * X / (2^bits - 1). The
 * float wires add each element's conversion error at each of those N steps
 * (f16 overflows to infinity beyond 65504). A block holding a NaN or an
 * infinity (or whose range overflows) on an integer wire is sent as NaN: its
 * elements come out NaN (a float wire keeps infinities).
 *
 * Rules: only ecclFloat32, ecclFloat64, ecclFloat16 and ecclBfloat16 data may
 * be quantized (other dtypes: ecclInvalidArgument). Every peer of the op must
 * pass the same config (or every peer none): a peer that differs makes the op
 * fail on both sides with ecclInvalidUsage naming "quantization" and both
 * configs. A quantized all-reduce always runs on the ring, whatever
 * small_allreduce_bytes says. */
typedef struct {
  /** sizeof(ecclQuantConfig_t), set by the caller; anything else is
   * ecclInvalidArgument. */
  size_t struct_size;
  /** ecclQuantNone: not quantized (the other fields are then not read). */
  ecclQuantAlgorithm_t algorithm;
  /** What each element becomes on the wire (see ecclWireType_t). */
  ecclWireType_t wire_type;
  /** Elements per block of statistics: 16..1048576 (2^20), a multiple of 16;
   * checked for every wire type, although only the integer wires have blocks.
   * Smaller blocks track the data's range closer (smaller error) at more
   * bytes of records (a u8 block of 1024 f32 elements: 1024 + 8 bytes). */
  uint32_t block_size;
} ecclQuantConfig_t;

/** All-reduce among the accepted peers of the comm's ring: on return every
 * peer's recvbuf[i] = op over all peers of sendbuf[i], bit-identical on every
 * peer (each element's reduction runs in one fixed order and its result is
 * copied from one peer). sendbuf == recvbuf is in place; otherwise the two
 * must not overlap. count 0 returns at once (no exchange, no checks with peers).
 *
 * Every member of the ring calls it with the same tag, count, dtype and op;
 * peers check that among themselves, without the master: a neighbour that
 * disagrees makes the call fail on both sides with ecclInvalidUsage, the text
 * naming that peer (short id and rank) and the field, e.g. "peer 3f2a9c01
 * (rank 2) has count 1000, this peer 1024". A small all-reduce (recursive
 * doubling, see small_allreduce_bytes) fails that way on every peer: the
 * disagreement travels with its exchanges. In the ring too: peers that are
 * not neighbours of the one that differs learn it from the channels their
 * neighbours close over it, and get ecclInvalidUsage with the same text (no
 * peer was lost, and ecclAllReduceWithRetry does not retry it). tag: < 2^32, names the op in
 * errors and on the wire; reusing a tag for the next op is fine.
 * quant: NULL (or algorithm ecclQuantNone): exact; else the data travel
 * quantized (see ecclQuantConfig_t for its rules, errors and error bound) and
 * the results are within that bound of the exact reduction.
 * timeout_ms < 0: the config's timeout_ms. info: NULL, or filled on return
 * (also on failure) if info->struct_size is sizeof(ecclOpInfo_t).
 *
 * Threads: see "Operations": calls from several threads start in the order
 * they reached the comm, which only the caller's synchronisation makes the
 * same on every peer. It must not overlap with
 * ecclCommConnect or ecclCommDestroy.
 *
 * Failures never hang: the call ends with ecclTimeout at the deadline,
 * ecclAborted at once on ecclCommAbort, ecclPeerLost when a ring member
 * leaves or is lost (within the master's loss detection: miss_limit x
 * heartbeat_ms) or a neighbour's channel breaks. A failed op closes the
 * channels to this peer's ring neighbours, so that their ops fail promptly too
 * (they see ecclPeerLost naming this peer and the cause), except after a
 * timeout, which closes only channels with transfers pending (the neighbours
 * reach their own deadlines). recvbuf is then undefined and the next
 * collective needs ecclCommUpdateTopology first (until then it fails with
 * ecclInvalidUsage, or ecclPeerLost if a ring member is gone).
 *
 * Survivors agree on the outcome: either every survivor returns ecclSuccess
 * with identical results, or every survivor returns an error. Once its data is
 * complete a peer passes a one-byte token around the ring (N-1 hops, no
 * master); only when that lap breaks does it ask the master, which asks the
 * other members how far they got and decides (success when every member still
 * in the group has its whole result, else failure: a member that answers
 * "incomplete" then fails the op too, even if its data arrives later). The
 * wait for that verdict may outlast timeout_ms by up to twice the master's
 * loss detection plus 2 s; without a verdict by then the call returns
 * ecclTimeout saying the outcome is unknown (only when the master is
 * unreachable). A peer that calls ecclCommAbort is no survivor. On error,
 * recvbuf is undefined and an out-of-place sendbuf is untouched.
 * Errors: ecclInvalidArgument (NULL comm or buffers, unknown dtype or op, tag
 * too large, overlapping buffers, bad info->struct_size, a bad quant config or
 * quant with a dtype other than f32/f64/f16/bf16), ecclUnsupported (a peer's
 * op header version is unknown to this build), ecclInvalidUsage (also: peers'
 * quant configs differ), ecclTimeout, ecclAborted, ecclPeerLost,
 * ecclConnectionError. */
ECCL_API ecclResult_t ecclAllReduce(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                    size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                    const ecclQuantConfig_t* quant, uint64_t tag,
                                    int64_t timeout_ms, ecclOpInfo_t* info);

/** ecclAllReduce that carries on through failures: when an attempt fails with
 * ecclPeerLost, ecclTimeout or ecclConnectionError (every survivor gets such
 * an error: they agree on the outcome), it calls ecclCommUpdateTopology and
 * tries again on the new ring, at most max_attempts times in all (>= 1).
 * timeout_ms applies to each attempt and to each update. In place
 * (sendbuf == recvbuf) it restores the input before each retry from a copy it
 * keeps (no copy of its own with the config's preserve_input, which restores
 * it anyway); the sum is over the peers of the ring the successful attempt ran
 * on. Every ring member calls it the same way, so the survivors retry
 * together; a peer admitted by the update takes part if it calls the same op.
 * Each retry runs at a new topology revision, which is on every data frame:
 * messages of a failed attempt cannot mix into a retry. attempts: NULL, or set
 * to the number of attempts made. Errors: as ecclAllReduce (the last attempt's,
 * or the failed update's), and ecclInvalidArgument for max_attempts 0. */
ECCL_API ecclResult_t ecclAllReduceWithRetry(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                             size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                             const ecclQuantConfig_t* quant, uint64_t tag,
                                             int64_t timeout_ms, uint32_t max_attempts,
                                             uint32_t* attempts, ecclOpInfo_t* info);

/** @name Other collectives
 * The other collectives follow ecclAllReduce's rules: every ring member calls
 * them in the same order with the same tag and arguments (peers check the
 * arguments among themselves and fail with ecclInvalidUsage naming the peer
 * and field), the same threads rules ("Operations"), timeout, abort and
 * failure semantics and errors, and bit-identical results on every peer. */
/** @{ */

/** Copies `count` elements of the ring member of rank `root` into buf on every
 * member (in place: buf is the root's input and every other member's output).
 * A pipelined chain along the ring. Extra error: ecclInvalidArgument when
 * root is not a rank of the ring. */
ECCL_API ecclResult_t ecclBroadcast(ecclComm_t comm, void* buf, size_t count, ecclDataType_t dtype,
                                    int32_t root, uint64_t tag, int64_t timeout_ms,
                                    ecclOpInfo_t* info);

/** Every member contributes sendcount elements; recvbuf (world size x
 * sendcount elements) receives them in rank order. In place when sendbuf is
 * this rank's block of recvbuf (recvbuf + rank x sendcount). */
ECCL_API ecclResult_t ecclAllGather(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                    size_t sendcount, ecclDataType_t dtype, uint64_t tag,
                                    int64_t timeout_ms, ecclOpInfo_t* info);

/** ecclAllGather with one count per rank (counts[r] elements from rank r, 0
 * allowed; ncounts must be the world size): blocks become uneven when the
 * world size changes. Every member passes the same counts. */
ECCL_API ecclResult_t ecclAllGatherV(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                     const size_t* counts, size_t ncounts, ecclDataType_t dtype,
                                     uint64_t tag, int64_t timeout_ms, ecclOpInfo_t* info);

/** sendbuf holds world size x recvcount elements, block r for rank r; recvbuf
 * receives op over every member of this rank's block. In place when recvbuf
 * is this rank's block of sendbuf. */
ECCL_API ecclResult_t ecclReduceScatter(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                        size_t recvcount, ecclDataType_t dtype, ecclRedOp_t op,
                                        uint64_t tag, int64_t timeout_ms, ecclOpInfo_t* info);

/** ecclReduceScatter with one count per rank (counts[r] elements for rank r). */
ECCL_API ecclResult_t ecclReduceScatterV(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                         const size_t* counts, size_t ncounts, ecclDataType_t dtype,
                                         ecclRedOp_t op, uint64_t tag, int64_t timeout_ms,
                                         ecclOpInfo_t* info);

/** Block j (count elements) of sendbuf goes to the member of rank j, which
 * receives it at block `this rank` of recvbuf; both buffers hold world size x
 * count elements and must not overlap. Every pair exchanges directly over its
 * own channel (opened on first use and kept, like ecclSend's). */
ECCL_API ecclResult_t ecclAllToAll(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                   size_t count, ecclDataType_t dtype, uint64_t tag,
                                   int64_t timeout_ms, ecclOpInfo_t* info);
/** @} */

/** One tensor of ecclAllReduceBatch: sendbuf == recvbuf is in place. */
typedef struct {
  const void* sendbuf; /**< this member's input: count elements */
  void* recvbuf;       /**< where the result goes: count elements */
  size_t count;        /**< elements */
} ecclTensor_t;

/** All-reduces ntensors tensors of one dtype (e.g.\ every gradient of a model)
 * as ONE all-reduce of their concatenation: one header, one pipelined stream,
 * without the caller packing them (ECCL packs them into a staging buffer of
 * their total size, unless there is one tensor). Every member passes the same
 * list of counts; peers check the total (not the split). Rules, results and
 * errors as ecclAllReduce; a bad tensor is named by its index. With quant, the
 * blocks of statistics run over the concatenation (one block may span the end
 * of one tensor and the start of the next). */
ECCL_API ecclResult_t ecclAllReduceBatch(ecclComm_t comm, const ecclTensor_t* tensors,
                                         size_t ntensors, ecclDataType_t dtype, ecclRedOp_t op,
                                         const ecclQuantConfig_t* quant, uint64_t tag,
                                         int64_t timeout_ms, ecclOpInfo_t* info);

/** Returns once every ring member has entered it (a one-byte all-reduce). */
ECCL_API ecclResult_t ecclBarrier(ecclComm_t comm, uint64_t tag, int64_t timeout_ms,
                                  ecclOpInfo_t* info);

/** An asynchronous operation in progress or completed. Opaque; the caller owns
 * it until ecclRequestFree. */
typedef struct ecclRequest* ecclRequest_t;

/** ecclAllReduce, queued (see "Operations"): returns at once with *request set.
 * The op starts when the ops called before it on the comm have completed; its
 * timeout counts from its start. sendbuf and recvbuf must stay valid, and
 * recvbuf unread, until the request completes.
 * quant is copied before the call returns. Errors at once:
 * ecclInvalidArgument (as ecclAllReduce, quant included, NULL request);
 * *request is then NULL. The op's own outcome is the result of ecclWait /
 * ecclTest. */
ECCL_API ecclResult_t ecclAllReduceAsync(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                         size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                         const ecclQuantConfig_t* quant, uint64_t tag,
                                         int64_t timeout_ms, ecclRequest_t* request);

/** Whether the request has completed: *done = 1 and the op's result (and its
 * report in info, as for ecclAllReduce), else *done = 0 and ecclSuccess.
 * Never blocks. Any thread. Errors: ecclInvalidArgument (NULL request or
 * done, bad info->struct_size), or the op's error once done. */
ECCL_API ecclResult_t ecclTest(ecclRequest_t request, int* done, ecclOpInfo_t* info);

/** Blocks until the request has completed; returns the op's result. Bounded:
 * the op ends at its timeout, on ecclCommAbort, or when ecclCommDestroy
 * aborts it. Any thread; several may wait on one request. */
ECCL_API ecclResult_t ecclWait(ecclRequest_t request, ecclOpInfo_t* info);

/** Frees a completed request (its comm may already be destroyed). NULL is a
 * no-op. A request still running is ecclInvalidUsage (wait for it first: it
 * still uses the caller's buffers). */
ECCL_API ecclResult_t ecclRequestFree(ecclRequest_t request);

/* ---- Point-to-point -------------------------------------------------------------- */

/** The id of the accepted peer at `rank` of `group` (NULL: this comm's group,
 * answered from the committed ring without asking the master). Any group of
 * the cluster: pipeline stages find their neighbours' peers this way. Asks the
 * master otherwise (one round trip). timeout_ms < 0: the config's timeout_ms.
 * Any thread once ecclCommConnect has returned.
 * Errors: ecclInvalidArgument (NULL comm or peer, bad group name, no accepted
 * peer at that rank: the text says whether the group exists and whether the
 * peer is still pending), ecclInvalidUsage (not connected), ecclTimeout (the
 * master did not answer), ecclAborted, ecclPeerLost (this peer was removed). */
ECCL_API ecclResult_t ecclCommLookupPeer(ecclComm_t comm, const char* group, int32_t rank,
                                         ecclPeerId_t* peer, int64_t timeout_ms);

/** Sends count elements of dtype to `peer`, an accepted peer of any group of
 * the cluster, which receives them with ecclRecv naming this peer, the same
 * tag (< 2^32), count and dtype. Returns once the receiver holds the whole
 * message in its buffer (synchronous: two peers that both send to each other
 * first block until the deadline; order the calls, or send from another
 * thread). The k-th send to a peer with a tag meets that peer's k-th receive
 * from this peer with that tag; different tags are independent and may be
 * used from different threads at once. The first exchange with a peer opens
 * a data channel to it (the master is asked where it is, once; later calls
 * work while the master is down); it is kept for the next ones.
 *
 * Threads: any number of ecclSend/ecclRecv calls may run at once, also
 * during ecclAllReduce and ecclCommUpdateTopology on other threads, but not
 * during ecclCommConnect or ecclCommDestroy.
 *
 * Failures never hang: ecclTimeout at the deadline, ecclAborted at once on
 * ecclCommAbort, ecclPeerLost when the peer departs (the master tells this
 * peer about the departure of any peer it exchanged messages with, of any
 * group, also as an event with revision 0 for peers of other groups) or its
 * channel breaks. A timeout or abort closes the channel to that peer (the
 * transport cannot take back a buffer it was given), which also fails
 * the partner's calls and, when the peer is a ring neighbour, the ring's
 * next collective until ecclCommUpdateTopology; the next send/recv opens a
 * new channel (a call that starts while the partner's close is still on its
 * way fails with ecclPeerLost too: retry it). A receiver whose count differs from the sender's
 * makes both calls fail with ecclInvalidUsage; the channel and the tag stay usable. info: as for
 * ecclAllReduce (world_size is 2). A later call with a peer whose departure this peer was told
 * of (a former ring member, or a partner of another group) fails with ecclPeerLost, not as an
 * unknown peer. Errors: ecclInvalidArgument (NULL comm, NULL buf with count > 0,
 * unknown dtype, peer is this peer, all-zero, or not an accepted peer, tag too large, bad
 * info->struct_size), ecclInvalidUsage (not accepted yet; sizes differ), ecclTimeout, ecclAborted,
 * ecclPeerLost, ecclConnectionError (no channel could be opened). */
ECCL_API ecclResult_t ecclSend(ecclComm_t comm, const void* buf, size_t count, ecclDataType_t dtype,
                               ecclPeerId_t peer, uint64_t tag, int64_t timeout_ms,
                               ecclOpInfo_t* info);

/** Receives count elements of dtype from `peer` into buf (see ecclSend). buf
 * is undefined after a failure. */
ECCL_API ecclResult_t ecclRecv(ecclComm_t comm, void* buf, size_t count, ecclDataType_t dtype,
                               ecclPeerId_t peer, uint64_t tag, int64_t timeout_ms,
                               ecclOpInfo_t* info);

/* ---- Shared state ------------------------------------------------------------- */

/** How a peer takes part in ecclSyncSharedState. */
typedef enum {
  /** Take the popular copy of every entry that differs (the default). */
  ecclSyncEnforcePopular = 0,
  /** This peer's copy is authoritative (e.g.\ it loaded a checkpoint): the
   * group takes its content and revision. Several SEND_ONLY peers must hold
   * the same content and revision. */
  ecclSyncSendOnly = 1,
  /** A fresh joiner: its content never counts and its revision may be anything;
   * it receives every entry whose hash differs from the popular one. */
  ecclSyncReceiveOnly = 2
} ecclSyncStrategy_t;

/** One named tensor of the shared state. The caller owns the memory. */
typedef struct {
  const char* name;     /**< 1..255 bytes, unique in the state */
  void* data;           /**< count elements of dtype; not NULL unless count is 0 */
  size_t count;         /**< elements of dtype in data */
  ecclDataType_t dtype; /**< the element type of data */
  /** Non-zero: peers may hold different content (e.g.\ a per-peer RNG state);
   * only the name, count and dtype must agree and nothing is sent. */
  int allow_content_inequality;
} ecclSharedStateEntry_t;

/** The shared state of one peer (a versioned struct: the caller sets struct_size). */
typedef struct {
  size_t struct_size; /**< sizeof(ecclSharedState_t) */
  /** In: this peer's revision. Out, on success: the group's new revision. */
  uint64_t revision;
  /** The state's entries: nentries of them. */
  const ecclSharedStateEntry_t* entries;
  size_t nentries; /**< at most 4096; entries must not overlap in memory */
} ecclSharedState_t;

/** What a sync did on this peer (a versioned struct: the caller sets struct_size). */
typedef struct {
  size_t struct_size;      /**< sizeof(ecclSyncInfo_t) */
  uint64_t bytes_sent;     /**< entry bytes this peer served to others */
  uint64_t bytes_received; /**< entry bytes it received */
  uint32_t entries_fixed;  /**< entries it received (its content differed) */
  uint32_t rounds;         /**< transfer rounds it took part in (> 1 after a failed source) */
  uint64_t revision;       /**< the group's revision after the sync */
  uint64_t wall_time_ns;   /**< from the call to its return */
  /** @{ */
  /** What crossed the wire for bytes_sent and bytes_received: less where
   * transfers were zstd-compressed (an entry of at least 1 MiB whose sample
   * compresses to 80 % or less, with zstd faster than a 10 Gbit/s link). */
  uint64_t wire_bytes_sent;
  uint64_t wire_bytes_received;
  /** @} */
} ecclSyncInfo_t;

/** Makes every accepted member's shared state identical, bit for bit. A
 * collective of the comm's ring: every member calls it (like
 * ecclCommUpdateTopology, it runs after the ops called before it and before
 * those called after it). Each peer hashes its entries (XXH3-128, on several
 * threads for large ones) and sends the hashes and its revision to the
 * master, which picks the popular content of each entry; peers whose copy
 * differs receive it from the members that hold it, split across up to 8 of
 * them at once, straight into the entry's memory, and hash it again before
 * the sync completes (a bad copy is fetched again from another holder).
 *
 * Rules, checked by the master before any byte moves (a violation is
 * ecclInvalidUsage on every member, naming the entry and the peers, and
 * nothing is written):
 *  - every member lists the same entries: names, counts, dtypes and
 *    allow_content_inequality (in any order);
 *  - the group's new revision is that of the SEND_ONLY peers if there are
 *    any, else one more than the group's last sync when a member of that sync
 *    takes part, else the most common revision among ENFORCE_POPULAR peers
 *    (ties: the highest);
 *  - a peer that took part in the group's last sync must present exactly that
 *    revision + 1 (each sync moves by one), unless it syncs RECEIVE_ONLY;
 *  - the popular content of an entry: the SEND_ONLY peers' (they must agree),
 *    else the most common hash among ENFORCE_POPULAR peers at the new
 *    revision; a tie goes to the lowest-ranked of them.
 * A group in which every peer is RECEIVE_ONLY has no content: ecclInvalidUsage.
 *
 * On success state->revision is the group's new revision on every member.
 * A holder lost during the sync is replaced by another holder (receivers that
 * completed an entry become holders too); only when no holder of an entry is
 * left for a receiver does the sync fail, with ecclPeerLost on every member
 * naming the entry (that entry may then be partly written on that receiver).
 * A master restart forgets the group's last revision (the next sync starts
 * afresh). timeout_ms < 0: the config's timeout_ms. info: NULL, or filled on
 * success if info->struct_size is sizeof(ecclSyncInfo_t).
 * Errors: ecclInvalidArgument (NULL comm or state, bad struct_size, a bad
 * entry: name, NULL data, unknown dtype, duplicate name, overlap; unknown
 * strategy), ecclInvalidUsage (not accepted; rules above), ecclPeerLost,
 * ecclTimeout, ecclAborted. */
ECCL_API ecclResult_t ecclSyncSharedState(ecclComm_t comm, ecclSharedState_t* state,
                                          ecclSyncStrategy_t strategy, int64_t timeout_ms,
                                          ecclSyncInfo_t* info);

/** ecclCommConnect for a peer joining a group that keeps shared state, without
 * stalling the group: while pending, this peer fetches a snapshot of the
 * state in the background, and is admitted only once it has it.
 *
 * The snapshot is the result of the group's next successful
 * ecclSyncSharedState after this call registers (a group that syncs every
 * round serves it at the next round boundary). When that sync completes, each
 * member that serves part of it copies the ranges it serves (memory: its
 * share of the bytes this peer lacks) and sends them from a background
 * thread, paced by the kernel (SO_MAX_PACING_RATE) so that the ranges of all
 * members together move at most fetch_bytes_per_s (0: unpaced) while the
 * members' collectives keep the rest of their links. Entries whose hash
 * already matches the snapshot's are not sent; entries that allow unequal
 * content are not fetched. Received entries are hashed again. Then the master
 * counts this peer as pending (ecclCommPeersPending), the members admit it at
 * their next ecclCommUpdateTopology, and the call returns once accepted.
 *
 * Afterwards the peer takes part in the group's next sync with
 * ecclSyncReceiveOnly: it receives only the entries that changed since the
 * snapshot (and any whose fetch failed, e.g. because a source was lost).
 *
 * state: as for ecclSyncSharedState; on success state->revision is the
 * snapshot's revision. In a group without accepted members the peer is
 * admitted at once and nothing is fetched (state->revision is left as is).
 * timeout_ms (< 0: the config's) covers registration, the wait for the
 * group's sync, the fetch and the admission. info: NULL, or filled on success
 * (bytes_received, wire_bytes_received, entries_fixed: entries received and
 * verified, rounds: 1 when something was fetched, revision, wall_time_ns).
 * Errors: those of ecclCommConnect; ecclInvalidArgument (a bad state, as for
 * ecclSyncSharedState); ecclInvalidUsage (called twice, or the entries'
 * names, counts, dtypes or flags differ from the group's: the text names the
 * entry). After an error the peer stays registered but is never admitted:
 * destroy the comm. */
ECCL_API ecclResult_t ecclCommConnectWithState(ecclComm_t comm, ecclSharedState_t* state,
                                               uint64_t fetch_bytes_per_s, int64_t timeout_ms,
                                               ecclSyncInfo_t* info);

/** Fetches a snapshot of ANOTHER group's shared state without joining it or
 * stalling it (e.g. a pipeline stage's replacement fetching its neighbour
 * stages' weights: ecclCommGetStageInfo names their groups). Any connected
 * peer may call it, pending or accepted, of any group.
 *
 * The snapshot is the result of that group's next successful
 * ecclSyncSharedState after this call: its members then copy the ranges they
 * serve and send them from background threads, striped across the members
 * and paced (as for ecclCommConnectWithState) so that together they move at
 * most fetch_bytes_per_s (0: unpaced) while their training goes on. Entries
 * whose hash already matches are not sent; entries that allow unequal content
 * are not fetched. Every received entry is hashed again and compared with the
 * snapshot's hash.
 *
 * group: the group whose state to fetch (1..128 bytes; this peer's own group
 * only while it is pending). state: as for ecclSyncSharedState, with the same
 * entry names, counts, dtypes and flags as that group's; on success every
 * entry holds the snapshot's bytes and state->revision is its revision.
 * timeout_ms (< 0: the config's) covers the wait for the group's next sync and
 * the transfer. info: NULL, or filled on success as by
 * ecclCommConnectWithState.
 * Errors: ecclInvalidArgument (a NULL or bad argument or state; no group of
 * that name is registered); ecclInvalidUsage (the comm is not connected,
 * another fetch of this comm is running, the entries differ from the
 * group's: the text names the entry, or it is this peer's own group while it
 * is a member); ecclPeerLost (the group has no accepted members, or lost its
 * last one before its sync; or entries did not arrive whole and verified
 * because a source was lost: the text says how many; their bytes may be
 * partly written: fetch again); ecclTimeout (no sync of the group in time,
 * or the transfer did not end in time); ecclAborted.
 * A fetch that returned is over, an ecclTimeout included: each fetch of a comm
 * is numbered and the master's answer names its number, so a later fetch
 * (of the same group or another) never takes the snapshot of one that gave
 * up: its snapshot is a sync of the named group after its own call.
 * Blocking; one fetch at a time per comm (see the thread table above). */
ECCL_API ecclResult_t ecclCommFetchGroupState(ecclComm_t comm, const char* group,
                                              ecclSharedState_t* state, uint64_t fetch_bytes_per_s,
                                              int64_t timeout_ms, ecclSyncInfo_t* info);

/* ---- DiLoCo outer loop ------------------------------------------------------------- */

/** DiLoCo's outer loop over a comm's ring: every H inner steps (the caller's
 * own optimiser, on its own parameters) each member calls ecclDilocoStep,
 * which all-reduces the pseudo-gradient (the round's start minus the
 * parameters), averages it over the peers that trained, takes a Nesterov
 * momentum step on the outer parameters (m = mu*m + g; outer -= lr*(g +
 * mu*m), as torch.optim.SGD with nesterov), and moves the parameters onto
 * them. Opaque; destroy it before its comm. */
typedef struct ecclDiloco* ecclDiloco_t;

/** When a round's average is applied. */
typedef enum {
  /** At the end of the same round: ecclDilocoStep waits for the all-reduce. */
  ecclDilocoSync = 0,
  /** One round late: ecclDilocoStep launches the round's all-reduce and
   * returns; the next ecclDilocoStep applies it, carrying the progress of the
   * round in between over onto the new outer parameters. The link works
   * while the next round computes (needs round compute >= all-reduce time
   * to hide it entirely). */
  ecclDilocoAsync = 1
} ecclDilocoMode_t;

/** One tensor of the parameters, updated in place by the caller's inner steps. */
typedef struct {
  void* data;   /**< count elements of the loop's dtype */
  size_t count; /**< elements */
} ecclDilocoParam_t;

/** Options of a DiLoCo loop (a versioned struct: fill it with ecclDilocoConfigInit). */
typedef struct {
  size_t struct_size;    /**< sizeof(ecclDilocoConfig_t) */
  float outer_lr;        /**< outer learning rate, > 0 (default 0.7) */
  float outer_momentum;  /**< Nesterov momentum in [0, 1) (default 0.9) */
  ecclDilocoMode_t mode; /**< default ecclDilocoSync */
  /** The tag of the loop's all-reduces (< 2^32; no other op of the comm may
   * use it while the loop lives). Default 0x44694c6f. */
  uint64_t tag;
  /** Each all-reduce, update and sync: > 0, or < 0 for the comm's (default -1); 0 is refused. */
  int64_t timeout_ms;
  uint32_t max_attempts; /**< tries of a round's collectives through failures, >= 1 (default 4) */
  /** The caller's own shared-state entries (e.g.\ the inner optimiser's state,
   * a data cursor), synced with the loop's whenever a peer joins: a joiner
   * receives them with the outer state. Names must not start with
   * "eccl.diloco.". NULL when nextra is 0. The memory stays the caller's and
   * must outlive the loop. */
  const ecclSharedStateEntry_t* extra_state;
  size_t nextra; /**< entries in extra_state, at most 4096 less the loop's own 4 */
  /** The group's shared-state revision before the loop's first sync: 0 for
   * a group that never ran ecclSyncSharedState, else its last revision. */
  uint64_t state_revision;
} ecclDilocoConfig_t;

/** What one ecclDilocoStep or ecclDilocoFlush did (a versioned struct: the caller sets
 * struct_size). */
typedef struct {
  size_t struct_size;    /**< sizeof(ecclDilocoInfo_t) */
  uint64_t round;        /**< rounds launched so far (this one included) */
  uint64_t applied;      /**< rounds applied to the outer parameters so far */
  uint32_t contributors; /**< peers averaged in the last round applied by this call (0: none) */
  /** All-reduces this call started: re-runs after a failure and the launch of
   * the round (ecclDilocoAsync) included; 0 for a flush that only waited. */
  uint32_t attempts;
  int synced;            /**< 1: a peer joined and the state was synced during this call */
  uint64_t blocked_ns;   /**< time spent waiting for the network (0 when hidden) */
  uint64_t wall_time_ns; /**< from the call to its return */
  /** The group's shared-state revision after the call: the loop's syncs move
   * it (at the start and when peers join); a later ecclSyncSharedState or loop
   * of the group starts from it. */
  uint64_t state_revision;
} ecclDilocoInfo_t;

/** Fills *config with the defaults (struct_size included).
 * Errors: ecclInvalidArgument (NULL). */
ECCL_API ecclResult_t ecclDilocoConfigInit(ecclDilocoConfig_t* config);

/** Starts the loop on a member of the ring (an accepted comm). A collective:
 * every member calls it with the same counts and config; the members'
 * parameters are made identical (the most common content wins, a
 * shared-state sync) and become the outer parameters. The loop keeps seven
 * buffers of the parameters' total size (outer parameters, momentum, round
 * start, two all-reduce slots each way). Members whose outer_lr,
 * outer_momentum or mode differ all fail with ecclInvalidUsage (one small
 * all-reduce compares them). Between two steps the comm may run
 * other ops, but not ecclCommUpdateTopology or ecclSyncSharedState (the loop
 * admits joiners itself; see ecclDilocoJoin).
 * Errors: ecclInvalidArgument (NULL or empty params, a NULL tensor, a dtype
 * other than f32/bf16, a bad config or extra entry), ecclInvalidUsage (the
 * comm is not a ring member; members disagree: the sync's rules), and the
 * sync's errors. */
ECCL_API ecclResult_t ecclDilocoCreate(ecclComm_t comm, const ecclDilocoParam_t* params,
                                       size_t nparams, ecclDataType_t dtype,
                                       const ecclDilocoConfig_t* config, ecclDiloco_t* diloco);

/** A new peer joins a running loop: comm is created and not connected. It
 * connects, waits to be admitted (the members admit a waiting peer at the
 * round boundary after one of them notices it: one or two rounds), receives
 * the outer parameters, momentum, round counters and extra entries, takes
 * part in the rounds still in flight with no weight, and returns with its
 * parameters on the outer parameters, in step with the members: its next
 * call is ecclDilocoStep after its first H inner steps. config: as the
 * members' (outer_lr, outer_momentum and mode are compared with theirs:
 * ecclInvalidUsage). Errors: those of ecclCommConnect and ecclDilocoCreate;
 * the comm is then unusable: destroy it at once (the members wait for it in
 * their next round until it leaves). */
ECCL_API ecclResult_t ecclDilocoJoin(ecclComm_t comm, const ecclDilocoParam_t* params,
                                     size_t nparams, ecclDataType_t dtype,
                                     const ecclDilocoConfig_t* config, ecclDiloco_t* diloco);

/** The round boundary, after the inner steps; a collective of the ring.
 * A failed all-reduce (every survivor gets the error, as for ecclAllReduce)
 * is retried on the survivors' ring with the same pseudo-gradients, so no
 * round is lost or applied twice; a departed peer's round is simply not in
 * the average. info: NULL, or filled if info->struct_size is
 * sizeof(ecclDilocoInfo_t). Errors: what max_attempts retries did not
 * overcome (ecclPeerLost, ecclTimeout, ecclConnectionError), or at once
 * ecclInvalidUsage (peers disagree), ecclAborted; after an error the loop is
 * unusable (ecclInvalidUsage): destroy it. */
ECCL_API ecclResult_t ecclDilocoStep(ecclDiloco_t diloco, ecclDilocoInfo_t* info);

/** Applies the round in flight (ecclDilocoAsync) so that the parameters hold
 * every launched round's average, keeping the progress made since the last
 * step: before an evaluation, a checkpoint, or the end of training. A
 * collective (every member calls it at the same boundary); ecclDilocoSync
 * has nothing in flight and returns at once. Errors: as ecclDilocoStep. */
ECCL_API ecclResult_t ecclDilocoFlush(ecclDiloco_t diloco, ecclDilocoInfo_t* info);

/** Rounds launched and rounds applied to the outer parameters so far. Not
 * while ecclDilocoStep or ecclDilocoFlush runs on another thread. */
ECCL_API ecclResult_t ecclDilocoRounds(ecclDiloco_t diloco, uint64_t* launched, uint64_t* applied);

/** Frees the loop, first waiting for its all-reduce in flight (bounded by its
 * timeout; ecclDilocoFlush first to apply it). NULL is a no-op. */
ECCL_API ecclResult_t ecclDilocoDestroy(ecclDiloco_t diloco);

/* ---- CheckFree stage recovery ----------------------------------------------------- */

/** The epsilon that ecclStageRecover's callers should pass unless they have
 * reason not to: it keeps a neighbour whose gradient norm is 0 weighing. */
#define ECCL_STAGE_RECOVER_DEFAULT_EPSILON 1e-6

/** Rebuilds the weights of a pipeline stage whose peers are all lost from
 * its neighbours' weights (CheckFree): prev holds stage s-1's, next stage
 * s+1's, each count elements of dtype, with their reported gradient norms.
 * Exactly, per element, in T = float for ecclFloat32, ecclFloat16 and
 * ecclBfloat16 and double for ecclFloat64, with no fused multiply-add:
 *
 * <pre>
 *   w_prev = (T)(prev_norm + epsilon)    (the sum in double)
 *   w_next = (T)(next_norm + epsilon)
 *   out[i] = (w_next * next[i] + w_prev * prev[i]) / (w_next + w_prev)
 * </pre>
 *
 * f16/bf16 elements are widened to float exactly and the result rounded back
 * to nearest, ties to even. A NaN result is written as the canonical quiet
 * NaN (float 0x7FC00000, double 0x7FF8000000000000, f16 0x7E00, bf16
 * 0x7FC0); infinities follow IEEE arithmetic. For the first or last stage
 * pass NULL for the missing neighbour: out becomes a byte copy of the other
 * (CheckFree+). out may be exactly prev or next (in place), and must not
 * otherwise overlap them. Buffers need no alignment.
 *
 * Pure computation: any thread, any time; does not block.
 * Errors: ecclInvalidArgument (prev and next both NULL; out NULL with
 * count > 0; a norm or epsilon negative, NaN or infinite; with both
 * neighbours, a weight too large for T or weights summing to 0; a dtype other
 * than the four floating-point ones; out partially overlapping a
 * neighbour); out is untouched then. */
ECCL_API ecclResult_t ecclStageRecover(const void* prev, double prev_norm, const void* next,
                                       double next_norm, void* out, size_t count,
                                       ecclDataType_t dtype, double epsilon);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ECCL_ECCL_H_ */
