#pragma once
// librdkafka hands out keys and payloads as (pointer, length), with NULL for none.
#include <cstddef>
#include <string_view>

namespace numflow::transform {

inline std::string_view bytes(const void* p, std::size_t n) {
  return p ? std::string_view(static_cast<const char*>(p), n) : std::string_view();
}

}  // namespace numflow::transform
