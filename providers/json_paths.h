#pragma once
// Reads only what it must of a JSON body: the string and integer values at a few member paths
// (e.g. {"payload", "account_id"}), with RapidJSON's SAX reader, stopping as soon as every path
// has been seen. No DOM of the whole body is built; ingest uses it to find the account for a raw
// record's key on every webhook, where a full parse was 5% of its CPU.
//
// The result is a Document holding just those values at just those paths, so a provider's
// account_of() reads it as it reads the full body. Two differences from a full parse, both
// confined to the key (the transform reads the whole body itself): a body invalid after the
// last path still yields what was found before, and a member name given twice in one object
// yields the first value seen under it, where a DOM lookup would search the first object only.
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace numflow::json {

using MemberPath = std::vector<std::string>;  // member names from the top-level object down

// At most 32 paths. Arrays are not entered (a path names members only). With `allocator`, the
// Document's values live there (it must outlive the Document); without, the Document makes its
// own, whose first use takes a 64 KiB chunk from the heap.
rapidjson::Document pick_paths(std::string_view body, const std::vector<MemberPath>& paths,
                               rapidjson::Document::AllocatorType* allocator = nullptr);

}  // namespace numflow::json
