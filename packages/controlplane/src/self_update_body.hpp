#pragma once
// The body of POST /v1/agents/{agent_id}/self-update, checked before anything goes to the agent
// (private to the package):
//   {"target_version": "1.2.3", "binary_url": "https://host/path?presigned",
//    "sha256": "<64 hex>", "signature": "<standard base64>", "force": false}
// force is optional (default false); every other field is required and no other is allowed. The
// agent checks all of this again (and much more: the download, the digest, the signature): the
// control plane refuses early so that the operator gets a precise 400 instead of a refusal later.
#include <string>
#include <string_view>
#include <variant>

#include "backup/v1/agent.pb.h"

namespace backupy::controlplane::detail {

// Why a body was refused: the text of the 400 answer.
struct SelfUpdateBodyError {
  std::string reason;
};

// The SelfUpdate to send, or why the body is refused. sha256 is sent in lower case; the
// signature is sent as the base64 text exactly as given (the agent accepts base64 text, which
// is what `cosign sign-blob` writes, or DER).
std::variant<backup::v1::SelfUpdate, SelfUpdateBodyError> parse_self_update_body(
    std::string_view body);

}  // namespace backupy::controlplane::detail
