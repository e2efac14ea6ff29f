#pragma once
// The one place providers are registered. Adding a provider: write providers/<name>/, add one
// line to registry.cpp, add its schemas under schemas/<name>/.
#include <span>
#include <string_view>

#include "providers/provider.h"

namespace numflow {

const Provider* find_provider(std::string_view name);
std::span<const Provider* const> all_providers();

}  // namespace numflow
