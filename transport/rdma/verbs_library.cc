#include "transport/rdma/verbs_library.h"

#ifdef ECCL_HAVE_IBVERBS

#include <dlfcn.h>

#include <cstring>
#include <string>

namespace eccl::transport::rdma {
namespace {

constexpr const char* kLibraryName = "libibverbs.so.1";

template <typename Function>
bool resolve(void* handle, const char* name, Function& into, std::string& missing) {
  into = reinterpret_cast<Function>(::dlsym(handle, name));
  if (into == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
  return into != nullptr;
}

Result<const VerbsLibrary*> load() {
  void* handle = ::dlopen(kLibraryName, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return unsupportedError(
        std::string("RDMA needs ") + kLibraryName +
        " (Debian: libibverbs1 and ibverbs-providers): " + (why != nullptr ? why : "not found"));
  }
  static VerbsLibrary verbs;
  std::string missing;
  resolve(handle, "ibv_get_device_list", verbs.get_device_list, missing);
  resolve(handle, "ibv_free_device_list", verbs.free_device_list, missing);
  resolve(handle, "ibv_get_device_name", verbs.get_device_name, missing);
  resolve(handle, "ibv_open_device", verbs.open_device, missing);
  resolve(handle, "ibv_close_device", verbs.close_device, missing);
  resolve(handle, "ibv_query_device", verbs.query_device, missing);
  resolve(handle, "ibv_query_port", verbs.query_port, missing);
  resolve(handle, "_ibv_query_gid_table", verbs.query_gid_table, missing);
  resolve(handle, "ibv_alloc_pd", verbs.alloc_pd, missing);
  resolve(handle, "ibv_dealloc_pd", verbs.dealloc_pd, missing);
  resolve(handle, "ibv_reg_mr", verbs.reg_mr, missing);
  resolve(handle, "ibv_dereg_mr", verbs.dereg_mr, missing);
  resolve(handle, "ibv_create_comp_channel", verbs.create_comp_channel, missing);
  resolve(handle, "ibv_destroy_comp_channel", verbs.destroy_comp_channel, missing);
  resolve(handle, "ibv_create_cq", verbs.create_cq, missing);
  resolve(handle, "ibv_destroy_cq", verbs.destroy_cq, missing);
  resolve(handle, "ibv_get_cq_event", verbs.get_cq_event, missing);
  resolve(handle, "ibv_ack_cq_events", verbs.ack_cq_events, missing);
  resolve(handle, "ibv_create_qp", verbs.create_qp, missing);
  resolve(handle, "ibv_modify_qp", verbs.modify_qp, missing);
  resolve(handle, "ibv_destroy_qp", verbs.destroy_qp, missing);
  if (!missing.empty()) {
    ::dlclose(handle);
    return unsupportedError(std::string(kLibraryName) + " lacks " + missing);
  }
  return &verbs;  // the handle stays open: the providers it loaded may hold state
}

}  // namespace

int queryPort(const VerbsLibrary& verbs, ibv_context* context, uint8_t port, ibv_port_attr& attr) {
  // Newer providers answer the full structure; older ones its compatible prefix.
  if (verbs_context* extended = verbs_get_ctx_op(context, query_port)) {
    return extended->query_port(context, port, &attr, sizeof(attr));
  }
  std::memset(&attr, 0, sizeof(attr));
  return verbs.query_port(context, port, reinterpret_cast<_compat_ibv_port_attr*>(&attr));
}

Result<const VerbsLibrary*> verbsLibrary() {
  static const Result<const VerbsLibrary*> loaded = load();
  return loaded;
}

}  // namespace eccl::transport::rdma

#endif  // ECCL_HAVE_IBVERBS
