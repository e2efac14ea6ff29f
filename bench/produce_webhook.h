#pragma once
// The record the floors produce in place of a webhook: numflow-ingest's four headers (values of
// their usual size), the given key and body, librdkafka copying both. Shared by kafka_floor and
// ingest_floor so their records match numflow-ingest's raw records in size and shape.
#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>

namespace numflow::bench {

// nullptr when queued (the delivery report carries `opaque`), else the error to destroy.
inline rd_kafka_error_t* produce_webhook(rd_kafka_t* rk, const std::string& topic, std::string_view key,
                                         std::string_view body, void* opaque) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(4);
  for (const char* h : {"numflow-provider", "numflow-received-at", "numflow-request-id", "content-type"})
    rd_kafka_header_add(hdrs, h, -1, "0123456789abcdef0123456789", -1);
  rd_kafka_vu_t vus[6];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = topic.c_str();
  vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[1].u.i = RD_KAFKA_MSG_F_COPY;
  vus[2].vtype = RD_KAFKA_VTYPE_KEY;
  vus[2].u.mem = {const_cast<char*>(key.data()), key.size()};  // copied, never written through
  vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[3].u.mem = {const_cast<char*>(body.data()), body.size()};
  vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
  vus[4].u.headers = hdrs;
  vus[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[5].u.ptr = opaque;
  rd_kafka_error_t* e = rd_kafka_produceva(rk, vus, 6);
  if (e) rd_kafka_headers_destroy(hdrs);  // not taken over when the message was refused
  return e;
}

}  // namespace numflow::bench
