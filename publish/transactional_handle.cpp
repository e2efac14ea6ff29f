#include "publish/transactional_handle.h"

namespace numflow::publish {

int destroy_with_nothing_in_flight(rd_kafka_t* rk, std::chrono::milliseconds drain) {
  if (!rk) return 0;
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // The purged messages' delivery reports (and any other queued events) still count in
  // outq_len until served.
  const auto deadline = std::chrono::steady_clock::now() + drain;
  int left = rd_kafka_outq_len(rk);
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(rk, 10);
    left = rd_kafka_outq_len(rk);
  }
  rd_kafka_destroy(rk);
  return left;
}

}  // namespace numflow::publish
