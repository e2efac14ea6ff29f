#pragma once
// Owning handle for a transactional producer that is destroyed with nothing in flight.
//
// librdkafka (2.0.2, still so in 2.8.0) frees the transaction's error string when its main
// thread terminates (rd_kafka_txns_term) without clearing the pointer. A broker thread that
// handles a ProduceResponse after that and finds the producer fenced frees it a second time
// (rd_kafka_txn_set_fatal_error): ASan saw exactly this in CI, when a fenced instance made a new
// producer while its old one still had requests out. Purging the queue and the in-flight
// requests first (rd_kafka_purge blocks until every broker thread has let go of them) leaves no
// response for a broker thread to handle, so the window never opens.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>

namespace numflow::publish {

// Purges what `rk` still holds, serves the resulting delivery reports (up to `drain`), then
// destroys it. Returns the number of messages still counted when it gave up waiting (0 normally).
int destroy_with_nothing_in_flight(rd_kafka_t* rk, std::chrono::milliseconds drain = std::chrono::seconds(5));

struct TransactionalHandleDeleter {
  void operator()(rd_kafka_t* rk) const { destroy_with_nothing_in_flight(rk); }
};
using TransactionalHandle = std::unique_ptr<rd_kafka_t, TransactionalHandleDeleter>;

}  // namespace numflow::publish
