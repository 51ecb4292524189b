#include "c_api/state_entries.h"

#include <cstring>
#include <string>

#include "c_api/call_args.h"

namespace eccl::capi {

Result<std::vector<state::Entry>> toStateEntries(const ecclSharedStateEntry_t* entries,
                                                 size_t nentries, const char* fn) {
  if (nentries > state::kMaxEntries) {
    return invalidArgument(std::string(fn) + ": " + std::to_string(nentries) + " entries, limit " +
                           std::to_string(state::kMaxEntries));
  }
  if (entries == nullptr && nentries > 0) {
    return invalidArgument(std::string(fn) + ": the entries are NULL");
  }
  std::vector<state::Entry> out;
  out.reserve(nentries);
  for (size_t i = 0; i < nentries; ++i) {
    const ecclSharedStateEntry_t& entry = entries[i];
    const std::string which = std::string(fn) + ": entry " + std::to_string(i);
    if (entry.name == nullptr) return invalidArgument(which + " has a NULL name");
    const size_t length = strnlen(entry.name, state::kMaxEntryName + 1);
    auto dtype = dtypeOf(entry.dtype, which.c_str());
    if (!dtype) return dtype.status();
    state::Entry e;
    e.name.assign(entry.name, length);  // validateState refuses an overlong name
    e.data = entry.data;
    e.count = entry.count;
    e.dtype = *dtype;
    e.allow_content_inequality = entry.allow_content_inequality != 0;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace eccl::capi
