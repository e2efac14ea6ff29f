#pragma once
// The small HTTP surface every numflow service has for operators: /healthz (the process serves),
// /readyz (it can do its job), /metrics (Prometheus text format).
#include <prometheus/registry.h>

#include <functional>
#include <memory>

#include "common/http_server.h"

namespace numflow {

// Answers /healthz, /readyz and /metrics; returns false (and answers nothing) for other paths so
// a caller can chain its own routes.
bool serve_admin(const http::Request& req, http::Respond& respond, const prometheus::Registry& registry,
                 const std::function<bool()>& ready);

// A handler with only the admin routes (404 for the rest).
http::Handler admin_handler(std::shared_ptr<prometheus::Registry> registry, std::function<bool()> ready);

// Blocks SIGTERM/SIGINT in the calling thread (call first in main, so every thread inherits the
// mask) and starts a thread that calls on_signal once when one arrives.
void handle_stop_signals(std::function<void(int)> on_signal);

// Registers numflow_build_info{service, version} = 1.
void register_build_info(prometheus::Registry& registry, const std::string& service);

}  // namespace numflow
