#pragma once
#include <string>
#include <vector>

namespace numflow::transform {

// `numflow-transform normalize --provider P [--account A] [FILE|-]` (contract §5): the core,
// offline. Returns the exit code: 0 records only, 1 dead-lettered, 2 usage or I/O error.
int normalize_command(const std::vector<std::string>& args);

}  // namespace numflow::transform
