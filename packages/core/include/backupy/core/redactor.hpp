#pragma once
// Secret scrubbing shared by logs, error messages and state dumps.
//
// Two complementary rules: (1) fields whose *name* looks sensitive are replaced
// wholesale; (2) every secret *value* registered at runtime (the agent key,
// target passwords, ...) is replaced wherever it appears, so a secret that leaks
// into an exception message or a URL is still caught. Presigned URL signatures
// are scrubbed by pattern.
#include <string>
#include <string_view>

namespace backupy::core {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// True for names such as "password", "agent_key", "Authorization", "dek".
bool is_sensitive_field_name(std::string_view name);

// Registers a secret value for scrubbing (thread-safe; values shorter than 4
// characters are ignored because scrubbing them would mangle ordinary text).
void register_secret(std::string_view value);
void forget_all_secrets();  // tests only need this; harmless elsewhere

// Returns text with every registered secret and every presigned-URL signature
// (X-Amz-Signature, X-Amz-Credential, Signature=...) replaced by [REDACTED].
std::string redact(std::string_view text);

}  // namespace backupy::core
