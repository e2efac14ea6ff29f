#pragma once
// libphonenumber's verdict on a North American (+1) number, the region it belongs to and whether
// it is valid there, worked out as libphonenumber works it out (GetRegionCodeForNumber, then
// IsValidNumberForRegion) over libphonenumber's own metadata, with the metadata's regular
// expressions compiled once.
//
// Why not ask libphonenumber: for a number it has not seen, its answer cost ~5.5 us on the
// transform's stage thread, and a quarter of that was hashing the (long) pattern strings to find
// them in its regular-expression cache, ten or more times per number, more in string conversions
// and allocations. Here each pattern is compiled once, with the same ICU engine and flags, and a
// thread keeps one matcher per pattern. nanp_verdict_test holds the answers equal to libphonenumber's.
#include <optional>
#include <string>
#include <string_view>

namespace numflow::phone {

struct NanpVerdict {
  bool valid = false;
  std::string region;  // ISO 3166 alpha-2 when valid; "" otherwise (+1 is shared by many regions)
};

// national: the ten digits after "+1", the first 2-9. nullopt when libphonenumber's metadata
// could not be read as expected: the caller then asks libphonenumber itself.
std::optional<NanpVerdict> nanp_verdict(std::string_view national);

}  // namespace numflow::phone
