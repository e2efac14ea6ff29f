#include "providers/registry.h"

#include <array>

#include "providers/8x8/eight_by_eight.h"
#include "providers/ringcentral/ringcentral.h"
#include "providers/zoom/zoom.h"

namespace numflow {
namespace {

const EightByEight k8x8;
const Zoom kZoom;
const RingCentral kRingCentral;

// Every provider numflow knows, in one list.
constexpr std::array<const Provider*, 3> kProviders = {&k8x8, &kZoom, &kRingCentral};

}  // namespace

const Provider* find_provider(std::string_view name) {
  for (const Provider* p : kProviders)
    if (p->name() == name) return p;
  return nullptr;
}

std::span<const Provider* const> all_providers() { return kProviders; }

}  // namespace numflow
