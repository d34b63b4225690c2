#pragma once
// The recorded-shape Engine API answers in tests/fixtures (see its README).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

namespace backupy::discovery::testing {

inline const std::filesystem::path kFixtures = BACKUPY_DISCOVERY_FIXTURES;

inline const std::string kPostgresId =
    "a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5";
inline const std::string kMariaDbId =
    "e08f4c9c36148019458d78d4baa84cbfa4beeb6e36be36c96f74c8655723b1ba";
inline const std::string kRedisId =
    "34fb46c847bb9df96e5205a39d382f648a6e8dce1e014cd85b4ca6a88d88ed03";
inline const std::string kNoPortsMongoId =
    "3dccc1e21a8b623b40241788f69e7c608eebeb0d1a95f41d7efc1629acf05a4b";
inline const std::string kNginxId =
    "5be1ecc7935f1dd85635d4feedaf660594030253cc97c9e9ca3819ffeac36b65";
// Listed in containers.json, no inspect file: the fake answers 404.
inline const std::string kVanishedId =
    "283bb9deef02e6843abfb538efa1eca70801bd8a701c3f98191e123496339247";

// Values of the fixtures' secret variables; none may reach a report.
inline const char* const kSecretValues[] = {"pg-Secret-4711", "maria-Secret-0815",
                                            "maria-User-Secret-1", "redis-Secret-42",
                                            "mongo-Secret-99"};

inline nlohmann::json inspect_fixture(const std::string& id) {
  std::ifstream in(kFixtures / "inspect" / (id + ".json"));
  return nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}

}  // namespace backupy::discovery::testing
