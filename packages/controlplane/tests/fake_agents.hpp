#pragma once
// An AgentGateway without sockets for the dispatch tests: which agents are online, and every
// envelope "sent" to them.
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent_status.hpp"
#include "backupy/controlplane/agent_registry.hpp"
#include "operator_api.hpp"

namespace backupy::controlplane::testing {

class FakeAgents final : public detail::AgentGateway {
 public:
  bool online(std::string_view agent_id) const override {
    return online_ids.contains(std::string(agent_id));
  }
  std::optional<std::string> send(std::string_view agent_id, std::string_view kind,
                                  backup::v1::Envelope envelope) override {
    if (!online(agent_id)) return std::nullopt;
    sent.emplace_back(std::string(agent_id), std::move(envelope));
    return std::string(kind) + "-test-" + std::to_string(sent.size());
  }
  const detail::AgentStatus* status(std::string_view agent_id) const override {
    return board.find(agent_id);
  }
  bool schedules_itself(std::string_view agent_id) const override {
    return agent_cron_ids.contains(std::string(agent_id));
  }

  std::set<std::string> online_ids;
  std::set<std::string> agent_cron_ids;  // agents in agent_cron.v1 mode
  std::vector<std::pair<std::string, backup::v1::Envelope>> sent;
  detail::AgentStatusBoard board;
};

// A configured agent (key "key-<id>") with jobs of these ids (no cron: manual-only).
inline AgentEntry agent_with_jobs(const std::string& id, std::initializer_list<std::string> jobs) {
  AgentEntry entry;
  entry.id = id;
  entry.key_sha256 = hash_agent_key("key-" + id);
  for (const std::string& job : jobs) entry.config.add_jobs()->set_id(job);
  return entry;
}

// S3 storage at a local endpoint that nothing needs to answer (presigning is offline).
inline StorageConfig s3_storage(std::string secret_access_key) {
  StorageConfig storage;
  storage.type = StorageType::s3;
  storage.endpoint = "http://127.0.0.1:9000";
  storage.region = "us-east-1";
  storage.bucket = "backups";
  storage.access_key_id = "AKIDEXAMPLE";
  storage.secret_access_key = std::move(secret_access_key);
  storage.url_ttl_sec = 900;
  return storage;
}

}  // namespace backupy::controlplane::testing
