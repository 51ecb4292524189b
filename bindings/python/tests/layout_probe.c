/* Prints, as JSON, what the C compiler makes of include/eccl/eccl.h for the
 * Python bindings: of each struct they mirror its size, every field's offset
 * ("fields") and size ("field_sizes"); of each enum they mirror its size and
 * values. test_layout.py compares that with eccl/_ctypes_api.py. Links
 * nothing: it only includes the header.
 *
 *   {"structs": {NAME: {"size": N, "fields": {FIELD: OFFSET}, "field_sizes": {FIELD: N}}},
 *    "enums": {NAME: {"size": N, "values": {ENUMERATOR: VALUE}}}} */
#include <eccl/eccl.h>
#include <stddef.h>
#include <stdio.h>

/* Commas between items: the first item of a list prints none. */
static int first_item;
static int first_member;
/* Each struct's field sizes, printed after its offsets. */
static char sizes[2048];
static size_t sizes_used;

static void item(const char* name, const char* size_key, size_t size, const char* list_key) {
  printf("%s\n    \"%s\": {\"%s\": %zu, \"%s\": {", first_item ? "" : ",", name, size_key, size,
         list_key);
  first_item = 0;
  first_member = 1;
  sizes_used = 0;
  sizes[0] = '\0';
}

static void member(const char* name, long long value) {
  printf("%s\"%s\": %lld", first_member ? "" : ", ", name, value);
  first_member = 0;
}

static void field(const char* name, size_t offset, size_t size) {
  int n = snprintf(sizes + sizes_used, sizeof(sizes) - sizes_used, "%s\"%s\": %zu",
                   first_member ? "" : ", ", name, size);
  if (n > 0 && (size_t)n < sizeof(sizes) - sizes_used) sizes_used += (size_t)n;
  member(name, (long long)offset);
}

static void itemEnd(void) {
  printf("}}");
}

static void structEnd(void) {
  printf("}, \"field_sizes\": {%s}}", sizes);
}

#define STRUCT_BEGIN(type) item(#type, "size", sizeof(type), "fields")
#define FIELD(type, f) field(#f, offsetof(type, f), sizeof(((type*)0)->f))
#define STRUCT_END() structEnd()
#define ENUM_BEGIN(type) item(#type, "size", sizeof(type), "values")
#define VALUE(name) member(#name, (long long)(name))
#define ENUM_END() itemEnd()

int main(void) {
  printf("{\n  \"structs\": {");
  first_item = 1;

  STRUCT_BEGIN(ecclMasterConfig_t);
  FIELD(ecclMasterConfig_t, struct_size);
  FIELD(ecclMasterConfig_t, listen_addr);
  FIELD(ecclMasterConfig_t, heartbeat_ms);
  FIELD(ecclMasterConfig_t, miss_limit);
  FIELD(ecclMasterConfig_t, channel_setup_timeout_ms);
  FIELD(ecclMasterConfig_t, register_timeout_ms);
  FIELD(ecclMasterConfig_t, token_key_file);
  FIELD(ecclMasterConfig_t, hung_ms);
  FIELD(ecclMasterConfig_t, anomaly_window_ms);
  FIELD(ecclMasterConfig_t, confirm_ms);
  FIELD(ecclMasterConfig_t, frozen_ms);
  FIELD(ecclMasterConfig_t, eviction_cooldown_ms);
  FIELD(ecclMasterConfig_t, evict_hung);
  FIELD(ecclMasterConfig_t, evict_stragglers);
  FIELD(ecclMasterConfig_t, evict_slow_nodes);
  FIELD(ecclMasterConfig_t, straggler_share);
  FIELD(ecclMasterConfig_t, straggler_factor);
  FIELD(ecclMasterConfig_t, link_busy_share);
  FIELD(ecclMasterConfig_t, link_busy_factor);
  FIELD(ecclMasterConfig_t, rejoin_backoff_ms);
  FIELD(ecclMasterConfig_t, rejoin_backoff_max_ms);
  FIELD(ecclMasterConfig_t, secret_file);
  FIELD(ecclMasterConfig_t, tls_ca_file);
  FIELD(ecclMasterConfig_t, tls_cert_file);
  FIELD(ecclMasterConfig_t, tls_key_file);
  STRUCT_END();

  STRUCT_BEGIN(ecclPeerId_t);
  FIELD(ecclPeerId_t, bytes);
  STRUCT_END();

  STRUCT_BEGIN(ecclCommConfig_t);
  FIELD(ecclCommConfig_t, struct_size);
  FIELD(ecclCommConfig_t, master);
  FIELD(ecclCommConfig_t, group);
  FIELD(ecclCommConfig_t, listen_addr);
  FIELD(ecclCommConfig_t, advertise_addr);
  FIELD(ecclCommConfig_t, connections_per_peer);
  FIELD(ecclCommConfig_t, timeout_ms);
  FIELD(ecclCommConfig_t, preserve_input);
  FIELD(ecclCommConfig_t, small_allreduce_bytes);
  FIELD(ecclCommConfig_t, stage);
  FIELD(ecclCommConfig_t, num_stages);
  FIELD(ecclCommConfig_t, secret_file);
  FIELD(ecclCommConfig_t, tls_ca_file);
  FIELD(ecclCommConfig_t, tls_cert_file);
  FIELD(ecclCommConfig_t, tls_key_file);
  FIELD(ecclCommConfig_t, tls_data);
  FIELD(ecclCommConfig_t, transport);
  STRUCT_END();

  STRUCT_BEGIN(ecclEvent_t);
  FIELD(ecclEvent_t, struct_size);
  FIELD(ecclEvent_t, kind);
  FIELD(ecclEvent_t, peer);
  FIELD(ecclEvent_t, revision);
  FIELD(ecclEvent_t, stage);
  FIELD(ecclEvent_t, value);
  FIELD(ecclEvent_t, threshold);
  FIELD(ecclEvent_t, link_to);
  STRUCT_END();

  STRUCT_BEGIN(ecclStageInfo_t);
  FIELD(ecclStageInfo_t, struct_size);
  FIELD(ecclStageInfo_t, stage);
  FIELD(ecclStageInfo_t, state);
  FIELD(ecclStageInfo_t, group);
  FIELD(ecclStageInfo_t, accepted);
  FIELD(ecclStageInfo_t, has_metric);
  FIELD(ecclStageInfo_t, metric_round);
  FIELD(ecclStageInfo_t, metric);
  FIELD(ecclStageInfo_t, metric_peer);
  STRUCT_END();

  STRUCT_BEGIN(ecclOpStats_t);
  FIELD(ecclOpStats_t, struct_size);
  FIELD(ecclOpStats_t, sequence);
  FIELD(ecclOpStats_t, name);
  FIELD(ecclOpStats_t, tag);
  FIELD(ecclOpStats_t, revision);
  FIELD(ecclOpStats_t, rank);
  FIELD(ecclOpStats_t, world_size);
  FIELD(ecclOpStats_t, prev);
  FIELD(ecclOpStats_t, next);
  FIELD(ecclOpStats_t, submitted_unix_ns);
  FIELD(ecclOpStats_t, started_unix_ns);
  FIELD(ecclOpStats_t, finished_unix_ns);
  FIELD(ecclOpStats_t, phase);
  FIELD(ecclOpStats_t, result);
  FIELD(ecclOpStats_t, bytes_sent);
  FIELD(ecclOpStats_t, bytes_received);
  FIELD(ecclOpStats_t, wait_prev_ns);
  FIELD(ecclOpStats_t, wait_next_ns);
  STRUCT_END();

  STRUCT_BEGIN(ecclLinkStats_t);
  FIELD(ecclLinkStats_t, struct_size);
  FIELD(ecclLinkStats_t, peer);
  FIELD(ecclLinkStats_t, address);
  FIELD(ecclLinkStats_t, rank);
  FIELD(ecclLinkStats_t, open);
  FIELD(ecclLinkStats_t, connections);
  FIELD(ecclLinkStats_t, bytes_sent);
  FIELD(ecclLinkStats_t, bytes_received);
  FIELD(ecclLinkStats_t, messages_sent);
  FIELD(ecclLinkStats_t, messages_received);
  FIELD(ecclLinkStats_t, hedged_chunks);
  FIELD(ecclLinkStats_t, send_bytes_per_s);
  FIELD(ecclLinkStats_t, recv_bytes_per_s);
  STRUCT_END();

  STRUCT_BEGIN(ecclClusterStats_t);
  FIELD(ecclClusterStats_t, struct_size);
  FIELD(ecclClusterStats_t, incarnation);
  FIELD(ecclClusterStats_t, registrations);
  FIELD(ecclClusterStats_t, rejected_registrations);
  FIELD(ecclClusterStats_t, heartbeats);
  FIELD(ecclClusterStats_t, votes);
  FIELD(ecclClusterStats_t, commits);
  FIELD(ecclClusterStats_t, losses);
  FIELD(ecclClusterStats_t, leaves);
  FIELD(ecclClusterStats_t, evictions);
  FIELD(ecclClusterStats_t, lookups);
  FIELD(ecclClusterStats_t, op_reports);
  FIELD(ecclClusterStats_t, state_syncs);
  FIELD(ecclClusterStats_t, state_syncs_failed);
  FIELD(ecclClusterStats_t, state_fetches);
  FIELD(ecclClusterStats_t, stage_metrics);
  FIELD(ecclClusterStats_t, stage_queries);
  FIELD(ecclClusterStats_t, stages_lost);
  FIELD(ecclClusterStats_t, stages_restored);
  FIELD(ecclClusterStats_t, stage_announcements);
  FIELD(ecclClusterStats_t, peer_reports);
  FIELD(ecclClusterStats_t, hung_peers);
  FIELD(ecclClusterStats_t, stragglers);
  FIELD(ecclClusterStats_t, slow_links);
  FIELD(ecclClusterStats_t, slow_nodes);
  FIELD(ecclClusterStats_t, frozen_links);
  FIELD(ecclClusterStats_t, anomaly_evictions);
  FIELD(ecclClusterStats_t, rejoins_refused);
  STRUCT_END();

  STRUCT_BEGIN(ecclPeerHealth_t);
  FIELD(ecclPeerHealth_t, struct_size);
  FIELD(ecclPeerHealth_t, peer);
  FIELD(ecclPeerHealth_t, group);
  FIELD(ecclPeerHealth_t, ops_completed);
  FIELD(ecclPeerHealth_t, ops_failed);
  FIELD(ecclPeerHealth_t, running_phase);
  FIELD(ecclPeerHealth_t, running_tag);
  FIELD(ecclPeerHealth_t, running_ms);
  FIELD(ecclPeerHealth_t, waiting_on);
  FIELD(ecclPeerHealth_t, waiting_ms);
  FIELD(ecclPeerHealth_t, late_ms);
  FIELD(ecclPeerHealth_t, hung);
  FIELD(ecclPeerHealth_t, straggler);
  FIELD(ecclPeerHealth_t, slow_node);
  STRUCT_END();

  STRUCT_BEGIN(ecclLinkHealth_t);
  FIELD(ecclLinkHealth_t, struct_size);
  FIELD(ecclLinkHealth_t, from);
  FIELD(ecclLinkHealth_t, to);
  FIELD(ecclLinkHealth_t, group);
  FIELD(ecclLinkHealth_t, bytes_per_s);
  FIELD(ecclLinkHealth_t, busy_share);
  FIELD(ecclLinkHealth_t, stalled_ms);
  FIELD(ecclLinkHealth_t, slow);
  FIELD(ecclLinkHealth_t, frozen);
  STRUCT_END();

  STRUCT_BEGIN(ecclAnomalyFinding_t);
  FIELD(ecclAnomalyFinding_t, struct_size);
  FIELD(ecclAnomalyFinding_t, kind);
  FIELD(ecclAnomalyFinding_t, peer);
  FIELD(ecclAnomalyFinding_t, link_to);
  FIELD(ecclAnomalyFinding_t, group);
  FIELD(ecclAnomalyFinding_t, value);
  FIELD(ecclAnomalyFinding_t, threshold);
  FIELD(ecclAnomalyFinding_t, age_ms);
  FIELD(ecclAnomalyFinding_t, evidence);
  STRUCT_END();

  STRUCT_BEGIN(ecclOpInfo_t);
  FIELD(ecclOpInfo_t, struct_size);
  FIELD(ecclOpInfo_t, bytes_sent);
  FIELD(ecclOpInfo_t, bytes_received);
  FIELD(ecclOpInfo_t, wall_time_ns);
  FIELD(ecclOpInfo_t, world_size);
  STRUCT_END();

  STRUCT_BEGIN(ecclQuantConfig_t);
  FIELD(ecclQuantConfig_t, struct_size);
  FIELD(ecclQuantConfig_t, algorithm);
  FIELD(ecclQuantConfig_t, wire_type);
  FIELD(ecclQuantConfig_t, block_size);
  STRUCT_END();

  STRUCT_BEGIN(ecclTensor_t);
  FIELD(ecclTensor_t, sendbuf);
  FIELD(ecclTensor_t, recvbuf);
  FIELD(ecclTensor_t, count);
  STRUCT_END();

  STRUCT_BEGIN(ecclSharedStateEntry_t);
  FIELD(ecclSharedStateEntry_t, name);
  FIELD(ecclSharedStateEntry_t, data);
  FIELD(ecclSharedStateEntry_t, count);
  FIELD(ecclSharedStateEntry_t, dtype);
  FIELD(ecclSharedStateEntry_t, allow_content_inequality);
  STRUCT_END();

  STRUCT_BEGIN(ecclSharedState_t);
  FIELD(ecclSharedState_t, struct_size);
  FIELD(ecclSharedState_t, revision);
  FIELD(ecclSharedState_t, entries);
  FIELD(ecclSharedState_t, nentries);
  STRUCT_END();

  STRUCT_BEGIN(ecclSyncInfo_t);
  FIELD(ecclSyncInfo_t, struct_size);
  FIELD(ecclSyncInfo_t, bytes_sent);
  FIELD(ecclSyncInfo_t, bytes_received);
  FIELD(ecclSyncInfo_t, entries_fixed);
  FIELD(ecclSyncInfo_t, rounds);
  FIELD(ecclSyncInfo_t, revision);
  FIELD(ecclSyncInfo_t, wall_time_ns);
  FIELD(ecclSyncInfo_t, wire_bytes_sent);
  FIELD(ecclSyncInfo_t, wire_bytes_received);
  STRUCT_END();

  STRUCT_BEGIN(ecclDilocoParam_t);
  FIELD(ecclDilocoParam_t, data);
  FIELD(ecclDilocoParam_t, count);
  STRUCT_END();

  STRUCT_BEGIN(ecclDilocoConfig_t);
  FIELD(ecclDilocoConfig_t, struct_size);
  FIELD(ecclDilocoConfig_t, outer_lr);
  FIELD(ecclDilocoConfig_t, outer_momentum);
  FIELD(ecclDilocoConfig_t, mode);
  FIELD(ecclDilocoConfig_t, tag);
  FIELD(ecclDilocoConfig_t, timeout_ms);
  FIELD(ecclDilocoConfig_t, max_attempts);
  FIELD(ecclDilocoConfig_t, extra_state);
  FIELD(ecclDilocoConfig_t, nextra);
  FIELD(ecclDilocoConfig_t, state_revision);
  STRUCT_END();

  STRUCT_BEGIN(ecclDilocoInfo_t);
  FIELD(ecclDilocoInfo_t, struct_size);
  FIELD(ecclDilocoInfo_t, round);
  FIELD(ecclDilocoInfo_t, applied);
  FIELD(ecclDilocoInfo_t, contributors);
  FIELD(ecclDilocoInfo_t, attempts);
  FIELD(ecclDilocoInfo_t, synced);
  FIELD(ecclDilocoInfo_t, blocked_ns);
  FIELD(ecclDilocoInfo_t, wall_time_ns);
  FIELD(ecclDilocoInfo_t, state_revision);
  STRUCT_END();

  printf("\n  },\n  \"enums\": {");
  first_item = 1;

  ENUM_BEGIN(ecclResult_t);
  VALUE(ecclSuccess);
  VALUE(ecclInvalidArgument);
  VALUE(ecclInvalidUsage);
  VALUE(ecclSystemError);
  VALUE(ecclInternalError);
  VALUE(ecclConnectionError);
  VALUE(ecclProtocolError);
  VALUE(ecclTimeout);
  VALUE(ecclPeerLost);
  VALUE(ecclAborted);
  VALUE(ecclOutOfMemory);
  VALUE(ecclUnsupported);
  VALUE(ecclAuthError);
  VALUE(ecclNumResults);
  ENUM_END();

  ENUM_BEGIN(ecclCommAttr_t);
  VALUE(ECCL_ATTR_RANK);
  VALUE(ECCL_ATTR_WORLD_SIZE);
  VALUE(ECCL_ATTR_GROUP);
  VALUE(ECCL_ATTR_PEER_ID);
  VALUE(ECCL_ATTR_REVISION);
  VALUE(ECCL_ATTR_PEERS_PENDING);
  VALUE(ECCL_ATTR_FETCHES_SERVING);
  VALUE(ECCL_ATTR_STAGE);
  ENUM_END();

  ENUM_BEGIN(ecclEventKind_t);
  VALUE(ECCL_EVENT_NONE);
  VALUE(ECCL_EVENT_PEER_JOINED);
  VALUE(ECCL_EVENT_PEER_LEFT);
  VALUE(ECCL_EVENT_PEER_LOST);
  VALUE(ECCL_EVENT_PEER_EVICTED);
  VALUE(ECCL_EVENT_STAGE_LOST);
  VALUE(ECCL_EVENT_STAGE_RESTORED);
  VALUE(ECCL_EVENT_HUNG_PEER);
  VALUE(ECCL_EVENT_STRAGGLER);
  VALUE(ECCL_EVENT_SLOW_LINK);
  VALUE(ECCL_EVENT_SLOW_NODE);
  VALUE(ECCL_EVENT_FROZEN_LINK);
  ENUM_END();

  ENUM_BEGIN(ecclStageState_t);
  VALUE(ECCL_STAGE_UNKNOWN);
  VALUE(ECCL_STAGE_ACTIVE);
  VALUE(ECCL_STAGE_LOST);
  VALUE(ECCL_STAGE_RECOVERING);
  ENUM_END();

  ENUM_BEGIN(ecclOpPhase_t);
  VALUE(ECCL_OP_QUEUED);
  VALUE(ECCL_OP_HEADERS);
  VALUE(ECCL_OP_DATA);
  VALUE(ECCL_OP_COMPLETION);
  VALUE(ECCL_OP_DONE);
  ENUM_END();

  ENUM_BEGIN(ecclDataType_t);
  VALUE(ecclInt8);
  VALUE(ecclUint8);
  VALUE(ecclInt16);
  VALUE(ecclUint16);
  VALUE(ecclInt32);
  VALUE(ecclUint32);
  VALUE(ecclInt64);
  VALUE(ecclUint64);
  VALUE(ecclFloat16);
  VALUE(ecclBfloat16);
  VALUE(ecclFloat32);
  VALUE(ecclFloat64);
  ENUM_END();

  ENUM_BEGIN(ecclRedOp_t);
  VALUE(ecclSum);
  VALUE(ecclAvg);
  VALUE(ecclProd);
  VALUE(ecclMin);
  VALUE(ecclMax);
  ENUM_END();

  ENUM_BEGIN(ecclQuantAlgorithm_t);
  VALUE(ecclQuantNone);
  VALUE(ecclQuantMinMax);
  VALUE(ecclQuantZeroPointScale);
  ENUM_END();

  ENUM_BEGIN(ecclWireType_t);
  VALUE(ecclWireUint8);
  VALUE(ecclWireInt8);
  VALUE(ecclWireUint16);
  VALUE(ecclWireFloat16);
  VALUE(ecclWireBfloat16);
  ENUM_END();

  ENUM_BEGIN(ecclSyncStrategy_t);
  VALUE(ecclSyncEnforcePopular);
  VALUE(ecclSyncSendOnly);
  VALUE(ecclSyncReceiveOnly);
  ENUM_END();

  ENUM_BEGIN(ecclDilocoMode_t);
  VALUE(ecclDilocoSync);
  VALUE(ecclDilocoAsync);
  ENUM_END();

  printf("\n  }\n}\n");
  return 0;
}
