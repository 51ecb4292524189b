// libibverbs, loaded at run time: ECCL builds against the verbs headers but
// needs no RDMA library installed to run. The first use dlopens
// libibverbs.so.1 and resolves the few functions the RDMA transport calls;
// machines without it (or without a device) use TCP and shared memory.
//
// The verbs calls that are inline in verbs.h (posting work requests,
// polling a completion queue, arming its notification) go through the
// device context's own function table and need nothing from here.
#pragma once

#include "src/common/status.h"

#ifdef ECCL_HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

namespace eccl::transport::rdma {

#ifdef ECCL_HAVE_IBVERBS

struct VerbsLibrary {
  decltype(&::ibv_get_device_list) get_device_list;
  decltype(&::ibv_free_device_list) free_device_list;
  decltype(&::ibv_get_device_name) get_device_name;
  decltype(&::ibv_open_device) open_device;
  decltype(&::ibv_close_device) close_device;
  decltype(&::ibv_query_device) query_device;
  // The exported symbol behind verbs.h's macro of that name (queryPort uses it).
  int (*query_port)(ibv_context*, uint8_t, _compat_ibv_port_attr*);
  decltype(&::_ibv_query_gid_table) query_gid_table;
  decltype(&::ibv_alloc_pd) alloc_pd;
  decltype(&::ibv_dealloc_pd) dealloc_pd;
  decltype(&::ibv_reg_mr) reg_mr;
  decltype(&::ibv_dereg_mr) dereg_mr;
  decltype(&::ibv_create_comp_channel) create_comp_channel;
  decltype(&::ibv_destroy_comp_channel) destroy_comp_channel;
  decltype(&::ibv_create_cq) create_cq;
  decltype(&::ibv_destroy_cq) destroy_cq;
  decltype(&::ibv_get_cq_event) get_cq_event;
  decltype(&::ibv_ack_cq_events) ack_cq_events;
  decltype(&::ibv_create_qp) create_qp;
  decltype(&::ibv_modify_qp) modify_qp;
  decltype(&::ibv_destroy_qp) destroy_qp;
};

// What verbs.h's ibv_query_port does, through the loaded library.
int queryPort(const VerbsLibrary& verbs, ibv_context* context, uint8_t port, ibv_port_attr& attr);

// Loaded once per process; kUnsupported saying why when it cannot be (no
// libibverbs.so.1, or one that lacks a function). Never unloaded.
Result<const VerbsLibrary*> verbsLibrary();

#endif  // ECCL_HAVE_IBVERBS

}  // namespace eccl::transport::rdma
