#pragma once
// Where the transform keeps what it knows of each number. The core only sees this interface;
// the service decides how long state lives and how it is rebuilt.
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

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
  std::size_t size() const override { return map_.size(); }
  void for_each(const std::function<void(const std::string&, const NumberState&)>& fn) const override {
    for (const auto& [k, v] : map_) fn(k, v);
  }
  void clear() { map_.clear(); }

 private:
  std::unordered_map<std::string, NumberState> map_;
};

}  // namespace numflow::transform
