#pragma once
// A plain TCP connect with a deadline (non-blocking connect + poll, RAII descriptors),
// for TCP_CHECK. Resolves with getaddrinfo and tries each address in order.
#include <chrono>
#include <stop_token>
#include <string>

namespace backupy::health::detail {

// "" when a connection was established (and closed again), else one precise line.
std::string tcp_connect(const std::string& host_port, std::chrono::milliseconds timeout,
                        std::stop_token stop);

}  // namespace backupy::health::detail
