#include "providers/authenticator.h"

namespace numflow {

AuthResult AuthResult::accept(std::string method) {
  AuthResult r;
  r.kind = accepted;
  r.method = std::move(method);
  return r;
}

AuthResult AuthResult::refuse(int status, std::string reason) {
  AuthResult r;
  r.kind = refused;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

AuthResult AuthResult::answer_with(http::Response response) {
  AuthResult r;
  r.kind = answered;
  r.answer = std::move(response);
  return r;
}

}  // namespace numflow
