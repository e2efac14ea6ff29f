#pragma once
// CPU seconds (user + system) this process has used so far: the benchmark programs' own cost.
#include <sys/resource.h>

namespace numflow::bench {

inline double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace numflow::bench
