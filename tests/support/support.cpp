#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "publish/topics.h"
#include "tests/support/http_client.h"
#include "tests/support/kafka_reader.h"
#include "tests/support/process.h"

namespace numflow::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResult out;
  const auto t0 = Clock::now();
  try {
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == "POST") req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bhttp::read(stream, buf, parser);
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception&) {
    out.status = 0;
  }
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  return out;
}

bool wait_http_ok(int port, const std::string& target, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (http_request(port, "GET", target, {}, {}, std::chrono::milliseconds(1000)).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string test_brokers() {
  const char* b = std::getenv("NUMFLOW_TEST_BROKERS");
  return b ? b : "";
}

namespace {

rd_kafka_t* make_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(err);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  return rk;
}

}  // namespace

std::vector<KafkaRecord> read_topic(const std::string& brokers, const std::string& topic, std::size_t expected,
                                    std::chrono::milliseconds timeout) {
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                                   {"group.id", "numflow-test-reader"},
                                                   {"enable.auto.commit", "false"},
                                                   {"isolation.level", "read_committed"},
                                                   {"enable.partition.eof", "true"}});
  std::vector<KafkaRecord> out;
  const auto until = Clock::now() + timeout;
  int partitions = 0;
  while (Clock::now() < until && (partitions = publish::partition_count(rk, topic)) == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  int at_eof = 0;
  while (Clock::now() < until) {
    if (expected ? out.size() >= expected : (partitions > 0 && at_eof >= partitions)) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_eof;
    } else if (!m->err) {
      KafkaRecord r;
      r.topic = topic;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value = std::string(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); ++i)
          r.headers.emplace_back(name, val ? std::string(static_cast<const char*>(val), size) : "");
      }
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

bool wait_for_record(const std::string& brokers, const std::string& topic,
                     const std::function<bool(const KafkaRecord&)>& match, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  do {
    for (const auto& r : read_topic(brokers, topic, 0, std::chrono::milliseconds(10000)))
      if (match(r)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (Clock::now() < until);
  return false;
}

bool produce_one(const std::string& brokers, const std::string& topic, const std::string& key,
                 const std::string& value, int partition) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers}, {"acks", "all"}});
  rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                                              RD_KAFKA_V_KEY(key.data(), key.size()),
                                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (!err) err = rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  return !err;
}

long long end_offset(const std::string& brokers, const std::string& topic, int partition) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers}});
  std::int64_t low = -1, high = -1;
  if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, 10000)) high = -1;
  rd_kafka_destroy(rk);
  return high;
}

}  // namespace numflow::testing
