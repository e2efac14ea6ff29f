#pragma once
// Phone numbers to E.164 with libphonenumber (contract §3): punctuation goes, a national form is
// completed from the country when one is known, digits without '+' and without a country are read
// as international. libphonenumber's validity verdict is reported, never used to drop a number:
// its metadata ages, and the provider's inventory is the truth.
#include <optional>
#include <string>
#include <string_view>

namespace numflow::phone {

struct Normalized {
  std::string e164;    // matches ^\+[1-9][0-9]{6,14}$
  bool valid = false;  // libphonenumber's IsValidNumber
  std::string region;  // ISO 3166 alpha-2 of the number, "" when libphonenumber cannot tell
};

// nullopt when the text is not a phone number even after normalization (invalid_number).
std::optional<Normalized> normalize(std::string_view text, std::string_view country = {});

bool is_e164(std::string_view s);

}  // namespace numflow::phone
