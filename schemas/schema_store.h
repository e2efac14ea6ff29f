#pragma once
// numflow::schemas: the JSON Schemas of schemas/ (draft-04), compiled into the binary, and
// validation against them.
//
// A schema's name is its path under schemas/ without ".schema.json": "8x8/virtual-number-update",
// "zoom/peering-number-cnam-updated", "ringcentral/extension-info", "number-change.v1", ...
//
// The registry is built once per process, on first use, and is immutable afterwards: every function
// here may be called from any thread. Each thread gets its own compiled copy of a schema and its
// own validator, made on first use: RapidJSON 1.1.0's compiled patterns keep match state inside
// the SchemaDocument, so one SchemaDocument must not validate on two threads at once.
// Validation walks the document without recursion and refuses nesting deeper than kMaxDepth, so
// a hostile body can neither overflow the stack nor make validation quadratic.
//
// RapidJSON 1.1.0 knows draft-04 only and silently ignores what it does not know (const, contains,
// propertyNames, if/then/else, format, \d in patterns, unresolvable $ref). The registry refuses a
// schema that relies on any of those, so a schema that loads is a schema that is enforced.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/fwd.h>

namespace numflow::schemas {

// Deepest nesting of objects and arrays validate() accepts (the root object is level 1). Provider
// payloads need 5; beyond the limit the violation's keyword is "maxDepth".
inline constexpr std::size_t kMaxDepth = 64;

// Why a document does not conform: the first failure RapidJSON's validator reports.
struct Violation {
  // JSON pointer (RFC 6901) into the document of the failing value, "" for the root, e.g.
  // "/payload/virtualNumbers/1/msisdn". For "required", the missing member itself (its parent's
  // pointer + "/" + its name), which does not exist in the document.
  std::string pointer;
  // The draft-04 keyword that failed: "required", "type", "minItems", "minLength", "enum",
  // "pattern", "uniqueItems", "minimum", ...; or "maxDepth" (numflow's own, see kMaxDepth).
  std::string keyword;
  // Human readable, one line, e.g. "missing required property 'msisdn' at /payload/virtualNumbers/1"
  // or "expected string at /payload/virtualNumbers/0/msisdn, found integer". It names fields and
  // types, never string values taken from the document (they may be phone numbers).
  std::string detail;
};

// RFC 6901 escaping of one reference token ("~" -> "~0", "/" -> "~1"), for building pointers.
std::string escape_token(std::string_view name);

// Names of all schemas, sorted.
std::vector<std::string_view> names();

// The compiled schema, for use with RapidJSON directly (SchemaValidator, SchemaValidatingReader).
// It is the calling thread's copy: use it on this thread only (see above). Throws
// std::out_of_range for an unknown name.
const rapidjson::SchemaDocument& schema(std::string_view name);

// The schema's JSON text, as shipped in schemas/. Throws std::out_of_range for an unknown name.
std::string_view source(std::string_view name);

// Validates doc against the named schema: nullopt when it conforms, else the first violation.
// Throws std::out_of_range for an unknown name.
std::optional<Violation> validate(std::string_view name, const rapidjson::Value& doc);

// Checks that a schema (its JSON) is draft-04 and enforced as written by RapidJSON 1.1.0:
// "$schema" is the draft-04 URI, no keyword RapidJSON ignores (const, contains, propertyNames,
// if/then/else, format, $id, $defs, ...), every pattern compiles with RapidJSON's regex (which
// knows no \d, \w, \s and silently drops a pattern it cannot compile), every $ref is local and
// resolves. Throws std::invalid_argument naming the offending place. The registry runs it on every
// schema it loads; a schema that fails makes every function above throw std::logic_error.
void check_draft04(const rapidjson::Value& schema_json);

}  // namespace numflow::schemas
