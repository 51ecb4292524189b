#include "tools/eccl-master/dashboard_page.h"

#include <cstddef>

// dashboard_html.cc, generated from dashboard.html by cmake/EmbedFile.cmake.
extern const unsigned char eccl_dashboard_html[];
extern const std::size_t eccl_dashboard_html_size;

namespace eccl::tools::master {

std::string_view dashboardPage() {
  return {reinterpret_cast<const char*>(eccl_dashboard_html), eccl_dashboard_html_size};
}

}  // namespace eccl::tools::master
