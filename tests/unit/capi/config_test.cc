// The C API's configs: defaults, environment overrides, struct_size rule,
// field checks and HOST:PORT parsing.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "c_api/options.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"
#include "src/common/host_port.h"

namespace eccl::test {
namespace {

const char* const kVariables[] = {
    "ECCL_MASTER_LISTEN", "ECCL_HEARTBEAT_MS", "ECCL_MISS_LIMIT",     "ECCL_TOKEN_KEY_FILE",
    "ECCL_MASTER",        "ECCL_GROUP",        "ECCL_LISTEN_ADDR",    "ECCL_ADVERTISE_ADDR",
    "ECCL_CONNECTIONS",   "ECCL_TIMEOUT_MS",   "ECCL_PRESERVE_INPUT", "ECCL_SMALL_ALLREDUCE_BYTES",
    "ECCL_STAGE",         "ECCL_NUM_STAGES"};

// Clears the variables the configs read, and puts the caller's values back afterwards.
class CApiConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name, value->c_str(), 1);
      } else {
        unsetenv(name);
      }
    }
  }

  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

std::string lastError() {
  return ecclGetLastError();
}

TEST_F(CApiConfig, MasterDefaults) {
  ecclMasterConfig_t config;
  ASSERT_EQ(ecclMasterConfigInit(&config), ecclSuccess);
  EXPECT_EQ(config.struct_size, sizeof(ecclMasterConfig_t));
  EXPECT_STREQ(config.listen_addr, "0.0.0.0:0");
  EXPECT_EQ(config.heartbeat_ms, 250u);
  EXPECT_EQ(config.miss_limit, 4u);
  EXPECT_EQ(config.channel_setup_timeout_ms, 10'000u);
  EXPECT_EQ(config.register_timeout_ms, 5'000u);
  EXPECT_EQ(config.token_key_file, nullptr);
  // The detectors' defaults are eccl-master's.
  EXPECT_EQ(config.hung_ms, 10'000u);
  EXPECT_EQ(config.anomaly_window_ms, 10'000u);
  EXPECT_EQ(config.confirm_ms, 5'000u);
  EXPECT_EQ(config.frozen_ms, 10'000u);
  EXPECT_EQ(config.eviction_cooldown_ms, 30'000u);
  EXPECT_EQ(config.evict_hung, 1);
  EXPECT_EQ(config.evict_stragglers, 0);
  EXPECT_EQ(config.evict_slow_nodes, 0);
  EXPECT_EQ(config.straggler_share, 0.25);
  EXPECT_EQ(config.straggler_factor, 4.0);
  EXPECT_EQ(config.link_busy_share, 0.5);
  EXPECT_EQ(config.link_busy_factor, 3.0);
  EXPECT_EQ(config.rejoin_backoff_ms, 10'000u);
  EXPECT_EQ(config.rejoin_backoff_max_ms, 300'000u);
}

TEST_F(CApiConfig, DetectorFieldsReachTheMasterAndAnOlderStructKeepsTheDefaults) {
  ecclMasterConfig_t config;
  ASSERT_EQ(ecclMasterConfigInit(&config), ecclSuccess);
  config.listen_addr = "127.0.0.1:0";
  config.hung_ms = 1'500;
  config.anomaly_window_ms = 2'000;
  config.confirm_ms = 0;
  config.frozen_ms = 700;
  config.eviction_cooldown_ms = 0;
  config.evict_hung = 0;
  config.evict_stragglers = 1;
  config.evict_slow_nodes = 1;
  config.straggler_share = 0.5;
  config.straggler_factor = 2.0;
  config.link_busy_share = 0.3;
  config.link_busy_factor = 5.0;
  config.rejoin_backoff_ms = 4'000;
  config.rejoin_backoff_max_ms = 1'000;  // below the first: raised to it
  auto options = capi::toMasterOptions(config, "test");
  ASSERT_TRUE(options) << options.status().toString();
  const membership::MasterSettings& s = options->settings;
  EXPECT_EQ(s.detectors.hung_after, std::chrono::milliseconds(1'500));
  EXPECT_EQ(s.detectors.window, std::chrono::milliseconds(2'000));
  EXPECT_EQ(s.detectors.confirm_for, std::chrono::milliseconds(0));
  EXPECT_EQ(s.detectors.frozen_after, std::chrono::milliseconds(700));
  EXPECT_EQ(s.eviction_cooldown, std::chrono::milliseconds(0));
  EXPECT_FALSE(s.evict_hung);
  EXPECT_TRUE(s.evict_stragglers);
  EXPECT_TRUE(s.evict_slow_nodes);
  EXPECT_EQ(s.detectors.min_late_share, 0.5);
  EXPECT_EQ(s.detectors.late_factor, 2.0);
  EXPECT_EQ(s.detectors.min_busy_share, 0.3);
  EXPECT_EQ(s.detectors.busy_factor, 5.0);
  EXPECT_EQ(s.rejoin_backoff, std::chrono::milliseconds(4'000));
  EXPECT_EQ(s.rejoin_backoff_max, std::chrono::milliseconds(4'000));
  config.rejoin_backoff_ms = 86'400'001;
  auto too_long = capi::toMasterOptions(config, "test");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.status().message().find("rejoin_backoff_ms"), std::string::npos);
  config.rejoin_backoff_ms = 4'000;
  // A caller built before these fields: whatever lies past its struct is not read.
  config.struct_size = ECCL_CAPI_FIELD_END(ecclMasterConfig_t, token_key_file);
  config.hung_ms = 0;  // out of range, were it read
  auto old = capi::toMasterOptions(config, "test");
  ASSERT_TRUE(old) << old.status().toString();
  EXPECT_EQ(old->settings.detectors.hung_after, anomaly::DetectorSettings{}.hung_after);
  EXPECT_TRUE(old->settings.evict_hung);
  EXPECT_EQ(old->settings.rejoin_backoff, membership::MasterSettings{}.rejoin_backoff);
}

TEST_F(CApiConfig, CommDefaults) {
  ecclCommConfig_t config;
  ASSERT_EQ(ecclCommConfigInit(&config), ecclSuccess);
  EXPECT_EQ(config.struct_size, sizeof(ecclCommConfig_t));
  EXPECT_EQ(config.master, nullptr);
  EXPECT_STREQ(config.group, "default");
  EXPECT_STREQ(config.listen_addr, "0.0.0.0:0");
  EXPECT_EQ(config.advertise_addr, nullptr);
  EXPECT_EQ(config.connections_per_peer, 4u);
  EXPECT_EQ(config.timeout_ms, 30'000u);
  EXPECT_EQ(config.preserve_input, 0u);
  EXPECT_EQ(config.small_allreduce_bytes, 65'536u);
  EXPECT_EQ(config.stage, -1);
  EXPECT_EQ(config.num_stages, 0);
}

TEST_F(CApiConfig, EnvironmentOverridesDefaults) {
  setenv("ECCL_MASTER_LISTEN", "[::1]:7000", 1);
  setenv("ECCL_HEARTBEAT_MS", "100", 1);
  setenv("ECCL_MISS_LIMIT", "7", 1);
  setenv("ECCL_TOKEN_KEY_FILE", "/tmp/eccl-key", 1);
  setenv("ECCL_MASTER", "master.example:5000", 1);
  setenv("ECCL_GROUP", "g1", 1);
  setenv("ECCL_LISTEN_ADDR", "127.0.0.1:0", 1);
  setenv("ECCL_ADVERTISE_ADDR", "10.0.0.1", 1);
  setenv("ECCL_CONNECTIONS", "8", 1);
  setenv("ECCL_TIMEOUT_MS", "1234", 1);
  setenv("ECCL_PRESERVE_INPUT", "1", 1);
  setenv("ECCL_SMALL_ALLREDUCE_BYTES", "0", 1);
  setenv("ECCL_STAGE", "3", 1);
  setenv("ECCL_NUM_STAGES", "4096", 1);
  ecclMasterConfig_t master;
  ASSERT_EQ(ecclMasterConfigInit(&master), ecclSuccess) << lastError();
  ecclCommConfig_t comm;
  ASSERT_EQ(ecclCommConfigInit(&comm), ecclSuccess) << lastError();
  // The strings belong to the library: changing the environment leaves them be.
  setenv("ECCL_GROUP", "changed", 1);
  unsetenv("ECCL_MASTER");

  EXPECT_STREQ(master.listen_addr, "[::1]:7000");
  EXPECT_EQ(master.heartbeat_ms, 100u);
  EXPECT_EQ(master.miss_limit, 7u);
  EXPECT_STREQ(master.token_key_file, "/tmp/eccl-key");
  EXPECT_EQ(master.register_timeout_ms, 5'000u);  // no variable: the default
  EXPECT_STREQ(comm.master, "master.example:5000");
  EXPECT_STREQ(comm.group, "g1");
  EXPECT_STREQ(comm.listen_addr, "127.0.0.1:0");
  EXPECT_STREQ(comm.advertise_addr, "10.0.0.1");
  EXPECT_EQ(comm.connections_per_peer, 8u);
  EXPECT_EQ(comm.timeout_ms, 1234u);
  EXPECT_EQ(comm.preserve_input, 1u);
  EXPECT_EQ(comm.small_allreduce_bytes, 0u);
  EXPECT_EQ(comm.stage, 3);
  EXPECT_EQ(comm.num_stages, 4096);
}

TEST_F(CApiConfig, EmptyTokenKeyFileMeansARandomKey) {
  setenv("ECCL_TOKEN_KEY_FILE", "", 1);
  ecclMasterConfig_t master;
  ASSERT_EQ(ecclMasterConfigInit(&master), ecclSuccess) << lastError();
  EXPECT_EQ(master.token_key_file, nullptr);
}

struct BadVariable {
  const char* name;
  const char* value;
  bool master;  // read by ecclMasterConfigInit, else by ecclCommConfigInit
};

TEST_F(CApiConfig, MalformedEnvironmentValueNamesTheVariable) {
  const BadVariable cases[] = {
      {"ECCL_HEARTBEAT_MS", "12x", true},
      {"ECCL_HEARTBEAT_MS", "-5", true},
      {"ECCL_MISS_LIMIT", "", true},
      {"ECCL_MASTER_LISTEN", "nohost", true},
      {"ECCL_MASTER", "host:99999", false},
      {"ECCL_MASTER", "host:", false},
      {"ECCL_LISTEN_ADDR", "[::1", false},
      {"ECCL_TIMEOUT_MS", "99999999999", false},
      {"ECCL_CONNECTIONS", " 4", false},
      {"ECCL_GROUP", "", false},
      {"ECCL_ADVERTISE_ADDR", "h:port", false},
      {"ECCL_PRESERVE_INPUT", "yes", false},
      {"ECCL_SMALL_ALLREDUCE_BYTES", "64K", false},
      {"ECCL_STAGE", "1.5", false},
      {"ECCL_STAGE", "--1", false},
      {"ECCL_STAGE", "2147483648", false},
      {"ECCL_NUM_STAGES", "", false},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(std::string(bad.name) + "=" + bad.value);
    setenv(bad.name, bad.value, 1);
    ecclResult_t result;
    if (bad.master) {
      ecclMasterConfig_t config;
      result = ecclMasterConfigInit(&config);
      EXPECT_EQ(config.heartbeat_ms, 250u);  // the defaults, whole
      EXPECT_EQ(config.struct_size, sizeof(config));
    } else {
      ecclCommConfig_t config;
      result = ecclCommConfigInit(&config);
      EXPECT_EQ(config.timeout_ms, 30'000u);
      EXPECT_EQ(config.struct_size, sizeof(config));
    }
    EXPECT_EQ(result, ecclInvalidArgument);
    EXPECT_NE(lastError().find(bad.name), std::string::npos) << lastError();
    unsetenv(bad.name);
  }
}

TEST_F(CApiConfig, NullArgumentsAreInvalid) {
  EXPECT_EQ(ecclMasterConfigInit(nullptr), ecclInvalidArgument);
  EXPECT_NE(lastError().find("config"), std::string::npos);
  EXPECT_EQ(ecclCommConfigInit(nullptr), ecclInvalidArgument);
  ecclCommConfig_t config;
  ASSERT_EQ(ecclCommConfigInit(&config), ecclSuccess);
  EXPECT_EQ(ecclCommCreate(&config, nullptr), ecclInvalidArgument);
  EXPECT_NE(lastError().find("comm is NULL"), std::string::npos);
  ecclMaster_t master = reinterpret_cast<ecclMaster_t>(&config);  // must be overwritten
  EXPECT_EQ(ecclMasterCreate(nullptr, &master), ecclInvalidArgument);
  EXPECT_EQ(master, nullptr);
}

TEST_F(CApiConfig, StructSizeMustCoverTheFirstVersionAndNotExceedToday) {
  EXPECT_TRUE(capi::hasField(16, 8, 8));
  EXPECT_FALSE(capi::hasField(15, 8, 8));
  EXPECT_FALSE(capi::hasField(4, 8, 0));
  EXPECT_FALSE(capi::hasField(8, 8, SIZE_MAX));  // no overflow
  ecclEvent_t event{};
  event.struct_size = ECCL_CAPI_FIELD_END(ecclEvent_t, peer);
  EXPECT_TRUE(ECCL_CAPI_HAS_FIELD(&event, ecclEvent_t, peer));
  EXPECT_FALSE(ECCL_CAPI_HAS_FIELD(&event, ecclEvent_t, revision));

  ecclCommConfig_t config;
  ASSERT_EQ(ecclCommConfigInit(&config), ecclSuccess);
  config.master = "127.0.0.1:1";
  const size_t first_version = ECCL_CAPI_FIELD_END(ecclCommConfig_t, timeout_ms);
  for (size_t size : {size_t{0}, size_t{8}, first_version - 1, sizeof(config) + 1}) {
    config.struct_size = size;
    ecclComm_t comm = nullptr;
    EXPECT_EQ(ecclCommCreate(&config, &comm), ecclInvalidArgument) << size;
    EXPECT_NE(lastError().find("config->struct_size is " + std::to_string(size)), std::string::npos)
        << lastError();
    EXPECT_EQ(comm, nullptr);
  }
  // A caller of the first version has no preserve_input: whatever lies there is not read.
  config.struct_size = first_version;
  config.preserve_input = 7;
  ecclComm_t old_caller = nullptr;
  EXPECT_EQ(ecclCommCreate(&config, &old_caller), ecclSuccess) << lastError();
  EXPECT_EQ(ecclCommDestroy(old_caller), ecclSuccess);
  config.struct_size = sizeof(config);
  EXPECT_EQ(ecclCommCreate(&config, &old_caller), ecclInvalidArgument);
  EXPECT_NE(lastError().find("preserve_input must be 0 or 1, got 7"), std::string::npos)
      << lastError();

  ecclMasterConfig_t master_config;
  ASSERT_EQ(ecclMasterConfigInit(&master_config), ecclSuccess);
  master_config.struct_size = 0;
  ecclMaster_t master = nullptr;
  EXPECT_EQ(ecclMasterCreate(&master_config, &master), ecclInvalidArgument);
  EXPECT_NE(lastError().find("struct_size"), std::string::npos);
}

TEST_F(CApiConfig, BadFieldsAreNamed) {
  struct Case {
    void (*change)(ecclMasterConfig_t&);
    const char* field;
  };
  const Case master_cases[] = {
      {[](ecclMasterConfig_t& c) { c.heartbeat_ms = 0; }, "heartbeat_ms"},
      {[](ecclMasterConfig_t& c) { c.miss_limit = 70'000; }, "miss_limit"},
      {[](ecclMasterConfig_t& c) { c.register_timeout_ms = 0; }, "register_timeout_ms"},
      {[](ecclMasterConfig_t& c) { c.channel_setup_timeout_ms = 0; }, "channel_setup_timeout_ms"},
      {[](ecclMasterConfig_t& c) { c.hung_ms = 99; }, "hung_ms must be 100..3600000, got 99"},
      {[](ecclMasterConfig_t& c) { c.anomaly_window_ms = 0; }, "anomaly_window_ms"},
      {[](ecclMasterConfig_t& c) { c.confirm_ms = 3'600'001; }, "confirm_ms"},
      {[](ecclMasterConfig_t& c) { c.frozen_ms = 0; }, "frozen_ms"},
      {[](ecclMasterConfig_t& c) { c.eviction_cooldown_ms = 86'400'001; }, "eviction_cooldown_ms"},
      {[](ecclMasterConfig_t& c) { c.evict_hung = 2; }, "evict_hung must be 0 or 1, got 2"},
      {[](ecclMasterConfig_t& c) { c.evict_stragglers = -1; }, "evict_stragglers"},
      {[](ecclMasterConfig_t& c) { c.evict_slow_nodes = 7; }, "evict_slow_nodes"},
      {[](ecclMasterConfig_t& c) { c.straggler_share = 0; }, "straggler_share"},
      {[](ecclMasterConfig_t& c) { c.straggler_factor = 0.5; }, "straggler_factor"},
      {[](ecclMasterConfig_t& c) { c.link_busy_share = 1.5; }, "link_busy_share"},
      {[](ecclMasterConfig_t& c) { c.link_busy_factor = std::nan(""); }, "link_busy_factor"},
      {[](ecclMasterConfig_t& c) { c.listen_addr = nullptr; }, "listen_addr is NULL"},
      {[](ecclMasterConfig_t& c) { c.listen_addr = "127.0.0.1:65536"; }, "listen_addr"},
  };
  for (const auto& bad : master_cases) {
    ecclMasterConfig_t config;
    ASSERT_EQ(ecclMasterConfigInit(&config), ecclSuccess);
    bad.change(config);
    ecclMaster_t master = nullptr;
    EXPECT_EQ(ecclMasterCreate(&config, &master), ecclInvalidArgument) << bad.field;
    EXPECT_NE(lastError().find(bad.field), std::string::npos) << lastError();
    EXPECT_EQ(master, nullptr);
  }

  struct CommCase {
    void (*change)(ecclCommConfig_t&);
    const char* field;
  };
  const CommCase comm_cases[] = {
      {[](ecclCommConfig_t& c) { c.master = nullptr; }, "master is NULL"},
      {[](ecclCommConfig_t& c) { c.master = "127.0.0.1:0"; }, "master needs a port"},
      {[](ecclCommConfig_t& c) { c.master = "127.0.0.1:70000"; }, "master"},
      {[](ecclCommConfig_t& c) { c.group = ""; }, "group"},
      {[](ecclCommConfig_t& c) { c.group = nullptr; }, "group is NULL"},
      {[](ecclCommConfig_t& c) { c.listen_addr = "127.0.0.1"; }, "listen_addr"},
      {[](ecclCommConfig_t& c) { c.advertise_addr = "h:x"; }, "advertise_addr"},
      {[](ecclCommConfig_t& c) { c.connections_per_peer = 0; }, "connections_per_peer"},
      {[](ecclCommConfig_t& c) { c.connections_per_peer = 100'000; }, "connections_per_peer"},
      {[](ecclCommConfig_t& c) { c.timeout_ms = 0; }, "timeout_ms"},
      {[](ecclCommConfig_t& c) { c.num_stages = 2; },
       "config->num_stages must be 0 when stage is -1 (no pipeline stage) (stage -1, "
       "num_stages 2)"},
      {[](ecclCommConfig_t& c) { c.stage = -2; },
       "config->stage must be -1 (none) or 0..num_stages-1 (stage -2, num_stages 0)"},
      {[](ecclCommConfig_t& c) { c.stage = 0; },
       "config->num_stages must be 1..4096 with a stage (stage 0, num_stages 0)"},
      {[](ecclCommConfig_t& c) { c.stage = 1, c.num_stages = 4097; },
       "config->num_stages must be 1..4096 with a stage (stage 1, num_stages 4097)"},
      {[](ecclCommConfig_t& c) { c.stage = 4, c.num_stages = 4; },
       "config->stage must be below num_stages (stage 4, num_stages 4)"},
  };
  for (const auto& bad : comm_cases) {
    ecclCommConfig_t config;
    ASSERT_EQ(ecclCommConfigInit(&config), ecclSuccess);
    config.master = "127.0.0.1:1";
    config.listen_addr = "127.0.0.1:0";
    bad.change(config);
    ecclComm_t comm = nullptr;
    EXPECT_EQ(ecclCommCreate(&config, &comm), ecclInvalidArgument) << bad.field;
    EXPECT_NE(lastError().find(bad.field), std::string::npos) << lastError();
    EXPECT_EQ(comm, nullptr);
  }
}

TEST(CApiAddress, ParsesHostPortForms) {
  auto v4 = parseHostPort("127.0.0.1:8080", false, "addr");
  ASSERT_TRUE(v4) << v4.status().toString();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  EXPECT_TRUE(v4->has_port);

  auto v6 = parseHostPort("[::1]:65535", false, "addr");
  ASSERT_TRUE(v6) << v6.status().toString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);

  auto zero = parseHostPort("0.0.0.0:0", false, "addr");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->port, 0);

  auto name = parseHostPort("node-7.example", true, "addr");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "node-7.example");
  EXPECT_FALSE(name->has_port);

  auto bare_v6 = parseHostPort("fe80::1", true, "addr");
  ASSERT_TRUE(bare_v6);
  EXPECT_EQ(bare_v6->host, "fe80::1");
  EXPECT_FALSE(bare_v6->has_port);

  auto bracketed = parseHostPort("[fe80::1]", true, "addr");
  ASSERT_TRUE(bracketed);
  EXPECT_EQ(bracketed->host, "fe80::1");
}

TEST(CApiAddress, RejectsMalformedAddresses) {
  for (const char* text :
       {"", "host", "host:", ":80", "host:abc", "host:65536", "host:-1", "host:+80", "host:123456",
        "[::1", "[::1]80", "[]:80", "::1", "[::1]:", "a b:80"}) {
    auto parsed = parseHostPort(text, false, "config->master");
    EXPECT_FALSE(parsed) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
      EXPECT_NE(parsed.status().message().find("config->master"), std::string::npos);
    }
  }
  for (const char* text : {"", "host:x", "[::1]x", ":1"}) {
    EXPECT_FALSE(parseHostPort(text, true, "advertise")) << text;
  }
}

}  // namespace
}  // namespace eccl::test
