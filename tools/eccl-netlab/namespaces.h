// Network namespaces by name (`ip netns`, /run/netns): the only thing a lab
// creates in the root namespace.
#pragma once

#include <string>
#include <vector>

#include "src/common/status.h"

namespace eccl::tools::netlab {

Status addNamespace(const std::string& name);
// Succeeds if the namespace is gone afterwards (also if it never existed).
Status deleteNamespace(const std::string& name);
bool namespaceExists(const std::string& name);
// Every named namespace (the entries of /run/netns).
std::vector<std::string> listNamespaces();

}  // namespace eccl::tools::netlab
