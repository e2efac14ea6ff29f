#include "providers/json_paths.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include <rapidjson/stream.h>
#include <rapidjson/reader.h>

namespace numflow::json {
namespace {

// SAX handler. For each open container it keeps the set (a bit per path) of paths whose names
// so far lead into it; arrays get the empty set, so nothing inside an array matches.
class Picker : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Picker> {
 public:
  Picker(const std::vector<MemberPath>& paths, rapidjson::Document& out) : paths_(paths), out_(out) {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if (!paths_[i].empty()) wanted_ |= 1u << i;
    }
    open_.reserve(8);  // webhook bodies nest a few levels: one allocation, not three
  }
  bool done() const { return found_ == wanted_; }

  bool Key(const char* s, rapidjson::SizeType len, bool) {
    key_ = 0;
    const std::size_t depth = open_.size();
    const std::string_view k(s, len);
    for (std::uint32_t m = open_.back(); m != 0; m &= m - 1) {
      const int i = __builtin_ctz(m);
      if (paths_[i].size() >= depth && paths_[i][depth - 1] == k) key_ |= 1u << i;
    }
    return true;
  }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    if (key_ == 0) return true;  // not on a path: no copy (most strings of a body)
    return take(rapidjson::Value(s, len, out_.GetAllocator()));
  }
  bool Int(int v) { return take(rapidjson::Value(v)); }
  bool Uint(unsigned v) { return take(rapidjson::Value(v)); }
  bool Int64(std::int64_t v) { return take(rapidjson::Value(v)); }
  bool Uint64(std::uint64_t v) { return take(rapidjson::Value(v)); }
  bool Default() {  // null, booleans, doubles: never an account
    key_ = 0;
    return true;
  }
  bool StartObject() {
    // The top-level object leads to every path; a member object to those its key continues.
    open_.push_back(open_.empty() ? wanted_ : deeper(key_));
    key_ = 0;
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() {
    open_.push_back(0);
    key_ = 0;
    return true;
  }
  bool EndArray(rapidjson::SizeType) { return pop(); }

 private:
  // The paths among `m` that go deeper than the current member.
  std::uint32_t deeper(std::uint32_t m) const {
    std::uint32_t r = 0;
    for (; m != 0; m &= m - 1) {
      const int i = __builtin_ctz(m);
      if (paths_[i].size() > open_.size()) r |= 1u << i;
    }
    return r;
  }
  bool pop() {
    open_.pop_back();
    key_ = 0;
    return true;
  }
  // A scalar value of the current member: kept for each path it completes (first seen wins).
  bool take(rapidjson::Value v) {
    for (std::uint32_t m = key_ & ~found_; m != 0; m &= m - 1) {
      const int i = __builtin_ctz(m);
      if (paths_[i].size() != open_.size()) continue;
      place(paths_[i], rapidjson::Value(v, out_.GetAllocator()));
      found_ |= 1u << i;
    }
    key_ = 0;
    return !done();  // false stops the parse: everything wanted is in
  }
  void place(const MemberPath& path, rapidjson::Value v) {
    auto& a = out_.GetAllocator();
    rapidjson::Value* at = &out_;
    for (std::size_t d = 0; d + 1 < path.size(); ++d) {
      auto it = at->FindMember(rapidjson::StringRef(path[d].data(), path[d].size()));
      if (it == at->MemberEnd()) {
        at->AddMember(rapidjson::Value(path[d].data(), path[d].size(), a), rapidjson::Value(rapidjson::kObjectType), a);
        it = at->MemberEnd() - 1;
      }
      at = &it->value;
    }
    at->AddMember(rapidjson::Value(path.back().data(), path.back().size(), a), v, a);
  }

  const std::vector<MemberPath>& paths_;
  rapidjson::Document& out_;
  std::uint32_t wanted_ = 0, found_ = 0;
  std::uint32_t key_ = 0;             // paths the current member's name continues
  std::vector<std::uint32_t> open_;  // per open container: the paths that lead into it
};

}  // namespace

rapidjson::Document pick_paths(std::string_view body, const std::vector<MemberPath>& paths,
                               rapidjson::Document::AllocatorType* allocator) {
  if (paths.size() > 32) throw std::invalid_argument("pick_paths: at most 32 paths");
  rapidjson::Document out(rapidjson::kObjectType, allocator);
  Picker picker(paths, out);
  if (picker.done()) return out;
  // Parsed in place, in a copy: a string is handed over where it lies instead of being copied
  // out of the body first (a third of the parse). A NUL in the body reads as the end, as it did
  // with a MemoryStream. The copy's buffer is kept per thread (as large as the largest body seen).
  thread_local std::string copy;
  copy.assign(body.data(), body.size());
  rapidjson::InsituStringStream in(copy.data());
  thread_local rapidjson::Reader reader;  // keeps its parse stack's memory from call to call
  // Iterative: a deeply nested body cannot exhaust the stack. Stops at the first error, or when
  // the handler has all it wants (kParseErrorTermination, not an error here).
  reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag>(in, picker);
  return out;
}

}  // namespace numflow::json
