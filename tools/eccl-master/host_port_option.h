// A CLI11 check for HOST:PORT options, shared by the daemons.
#pragma once

#include <CLI/CLI.hpp>

namespace eccl::tools {

// Accepts what eccl::parseHostPort accepts; with port_optional also a bare HOST.
CLI::Validator hostPortValidator(bool port_optional = false);

}  // namespace eccl::tools
