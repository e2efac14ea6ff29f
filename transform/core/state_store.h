#pragma once
// Where the transform keeps what it knows of each number. The core only sees this interface;
// the service decides how long state lives and how it is rebuilt.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "providers/state.h"

namespace numflow::transform {

class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual const NumberState* find(std::string_view number) const = 0;
  virtual void put(const std::string& number, NumberState state) = 0;
  virtual void erase(std::string_view number) = 0;
  virtual std::size_t size() const = 0;
  virtual void for_each(const std::function<void(const std::string&, const NumberState&)>& fn) const = 0;
};

class MemoryStateStore final : public StateStore {
 public:
  const NumberState* find(std::string_view number) const override {
    const auto it = map_.find(std::string(number));
    return it == map_.end() ? nullptr : &it->second;
  }
  void put(const std::string& number, NumberState state) override { map_[number] = std::move(state); }
  void erase(std::string_view number) override { map_.erase(std::string(number)); }
  // put() and erase() that hand back what the number held before (nothing when it was absent),
  // moved out rather than copied: the transform keeps it to undo an aborted transaction. replace()
  // moves it straight into `before`: a NumberState is ~1.2 KB of slots, and returning it through
  // std::exchange and an optional moved it four times per event.
  void replace(const std::string& number, NumberState&& state, std::optional<NumberState>& before) {
    auto [it, inserted] = map_.try_emplace(number, std::move(state));  // moves only when inserting
    if (inserted) return;
    before.emplace(std::move(it->second));
    it->second = std::move(state);
  }
  std::optional<NumberState> take(std::string_view number) {
    auto node = map_.extract(std::string(number));
    if (node.empty()) return std::nullopt;
    return std::move(node.mapped());
  }
  std::size_t size() const override { return map_.size(); }
  void for_each(const std::function<void(const std::string&, const NumberState&)>& fn) const override {
    for (const auto& [k, v] : map_) fn(k, v);
  }
  void clear() { map_.clear(); }

 private:
  std::unordered_map<std::string, NumberState> map_;
};

}  // namespace numflow::transform
