#include "backupy/wire/envelope_codec.hpp"

namespace backupy::wire {

std::string_view payload_name(Envelope::PayloadCase payload) {
  switch (payload) {
    case Envelope::kRegister: return "register";
    case Envelope::kHeartbeat: return "heartbeat";
    case Envelope::kDiscoveryReport: return "discovery_report";
    case Envelope::kJobUpdate: return "job_update";
    case Envelope::kBackupCompleted: return "backup_completed";
    case Envelope::kHealthCheckResult: return "health_check_result";
    case Envelope::kLogEvent: return "log_event";
    case Envelope::kRestoreUpdate: return "restore_update";
    case Envelope::kAck: return "ack";
    case Envelope::kUploadCredsRequest: return "upload_creds_request";
    case Envelope::kRegisterAck: return "register_ack";
    case Envelope::kConfigUpdate: return "config_update";
    case Envelope::kRunBackup: return "run_backup";
    case Envelope::kCancelJob: return "cancel_job";
    case Envelope::kRunHealthCheck: return "run_health_check";
    case Envelope::kSelfUpdate: return "self_update";
    case Envelope::kPing: return "ping";
    case Envelope::kDeliveryAck: return "delivery_ack";
    case Envelope::PAYLOAD_NOT_SET: return "none";
  }
  return "none";
}

bool is_agent_to_server(Envelope::PayloadCase payload) {
  const int tag = static_cast<int>(payload);
  return tag >= 10 && tag <= 49;
}

bool is_server_to_agent(Envelope::PayloadCase payload) {
  const int tag = static_cast<int>(payload);
  return tag >= 50 && tag <= 99;
}

}  // namespace backupy::wire
