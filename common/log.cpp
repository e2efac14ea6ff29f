#include "common/log.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <atomic>

#include "common/time.h"

namespace numflow::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level)); }

bool set_level(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kNames[i] == name) {
      g_level.store(i);
      return true;
    }
  }
  return false;
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::string render(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  const std::string ts = now_rfc3339_ms();
  w.StartObject();
  w.Key("ts");
  w.String(ts.data(), static_cast<rapidjson::SizeType>(ts.size()));
  w.Key("level");
  const auto name = kNames[static_cast<int>(level)];
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.Key("msg");
  w.String(msg.data(), static_cast<rapidjson::SizeType>(msg.size()));
  for (const Field& f : fields) {
    w.Key(f.key.data(), static_cast<rapidjson::SizeType>(f.key.size()));
    std::visit(
        [&w](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>)
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
          else if constexpr (std::is_same_v<T, std::int64_t>)
            w.Int64(v);
          else if constexpr (std::is_same_v<T, double>)
            w.Double(v);
          else
            w.Bool(v);
        },
        f.value);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line = render(level, msg, fields);
  line.push_back('\n');
  // One write() per line: atomic for lines below PIPE_BUF on pipes, and never interleaved mid-line
  // in practice on files and terminals.
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(line.size())) {
    const ssize_t n = ::write(2, line.data() + off, line.size() - static_cast<std::size_t>(off));
    if (n <= 0) break;
    off += n;
  }
}

}  // namespace numflow::log
