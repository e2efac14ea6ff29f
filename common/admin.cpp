#include "common/admin.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#ifndef NUMFLOW_VERSION
#define NUMFLOW_VERSION "dev"
#endif

namespace numflow {

bool serve_admin(const http::Request& req, http::Respond& respond, const prometheus::Registry& registry,
                 const std::function<bool()>& ready) {
  const auto path = req.path();
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") return false;
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = http::Response::json(405, "{\"error\":\"method not allowed\"}");
    r.headers.set("Allow", "GET, HEAD");
    respond(std::move(r));
    return true;
  }
  if (path == "/healthz") {
    respond(http::Response::json(200, "{\"status\":\"ok\"}"));
  } else if (path == "/readyz") {
    const bool ok = ready();
    respond(http::Response::json(ok ? 200 : 503, ok ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}"));
  } else {
    const prometheus::TextSerializer serializer;
    respond(http::Response::text(200, serializer.Serialize(registry.Collect()), "text/plain; version=0.0.4"));
  }
  return true;
}

http::Handler admin_handler(std::shared_ptr<prometheus::Registry> registry, std::function<bool()> ready) {
  return [registry = std::move(registry), ready = std::move(ready)](http::Request&& req, http::Respond respond) {
    if (!serve_admin(req, respond, *registry, ready))
      respond(http::Response::json(404, "{\"error\":\"not found\"}"));
  };
}

void handle_stop_signals(std::function<void(int)> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, on_signal = std::move(on_signal)] {
    int sig = 0;
    sigwait(&set, &sig);
    on_signal(sig);
    // A second signal while stopping means "now".
    sigwait(&set, &sig);
    _exit(128 + sig);
  }).detach();
}

void register_build_info(prometheus::Registry& registry, const std::string& service) {
  prometheus::BuildGauge()
      .Name("numflow_build_info")
      .Help("numflow build information; the value is always 1")
      .Register(registry)
      .Add({{"service", service}, {"version", NUMFLOW_VERSION}})
      .Set(1);
}

}  // namespace numflow
