// Status, Result<T> and ECCL_RETURN_IF_ERROR: the error plumbing every layer relies on.
#include "src/common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace eccl {
namespace {

TEST(Status, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.isOk());
  EXPECT_TRUE(static_cast<bool>(status));
  EXPECT_EQ(status.code(), Code::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.toString(), "Ok");
  EXPECT_EQ(Status::ok().code(), Code::kOk);
}

TEST(Status, ErrorKeepsCodeAndMessage) {
  Status status(Code::kTimeout, "no reply from peer 3");
  EXPECT_FALSE(status.isOk());
  EXPECT_FALSE(static_cast<bool>(status));
  EXPECT_EQ(status.code(), Code::kTimeout);
  EXPECT_EQ(status.message(), "no reply from peer 3");
}

TEST(Status, EveryCodeHasItsName) {
  const std::vector<std::pair<Code, std::string>> names = {
      {Code::kOk, "Ok"},
      {Code::kInvalidArgument, "InvalidArgument"},
      {Code::kInvalidUsage, "InvalidUsage"},
      {Code::kSystemError, "SystemError"},
      {Code::kInternalError, "InternalError"},
      {Code::kConnectionError, "ConnectionError"},
      {Code::kProtocolError, "ProtocolError"},
      {Code::kTimeout, "Timeout"},
      {Code::kPeerLost, "PeerLost"},
      {Code::kAborted, "Aborted"},
      {Code::kOutOfMemory, "OutOfMemory"},
      {Code::kUnsupported, "Unsupported"},
      {Code::kAuthError, "AuthError"},
  };
  for (const auto& [code, name] : names)
    EXPECT_EQ(codeName(code), name);
}

TEST(Status, OutOfRangeCodeIsNamedUnknown) {
  // A code read from a peer or a C caller may be anything; naming it must not misbehave.
  EXPECT_EQ(codeName(static_cast<Code>(999)), "Unknown");
}

TEST(Status, FactoriesSetTheirCode) {
  const std::vector<std::pair<Status, Code>> cases = {
      {invalidArgument("m"), Code::kInvalidArgument},
      {invalidUsage("m"), Code::kInvalidUsage},
      {protocolError("m"), Code::kProtocolError},
      {connectionError("m"), Code::kConnectionError},
      {timeoutError("m"), Code::kTimeout},
      {abortedError("m"), Code::kAborted},
      {internalError("m"), Code::kInternalError},
      {systemError("m"), Code::kSystemError},
      {unsupportedError("m"), Code::kUnsupported},
      {authError("m"), Code::kAuthError},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_EQ(status.code(), code) << codeName(code);
    EXPECT_EQ(status.message(), "m");
    EXPECT_FALSE(status.isOk());
  }
}

TEST(Status, ToStringIsCodeNameThenMessage) {
  EXPECT_EQ(connectionError("peer 127.0.0.1:4000 closed the connection").toString(),
            "ConnectionError: peer 127.0.0.1:4000 closed the connection");
  EXPECT_EQ(Status(Code::kOutOfMemory, "pool").toString(), "OutOfMemory: pool");
}

TEST(Status, WithContextPrefixesAndKeepsCode) {
  Status original = protocolError("bad magic");
  Status wrapped = original.withContext("while connecting");
  EXPECT_EQ(wrapped.code(), Code::kProtocolError);
  EXPECT_EQ(wrapped.message(), "while connecting: bad magic");
  EXPECT_EQ(original.message(), "bad magic");  // the original is left alone

  Status twice = wrapped.withContext("peer 2");
  EXPECT_EQ(twice.message(), "peer 2: while connecting: bad magic");
  EXPECT_EQ(twice.toString(), "ProtocolError: peer 2: while connecting: bad magic");
}

TEST(Status, WithContextOnOkStaysOk) {
  Status wrapped = Status::ok().withContext("while connecting");
  EXPECT_TRUE(wrapped.isOk());
  EXPECT_EQ(wrapped.message(), "");
}

TEST(Result, HoldsValue) {
  Result<std::string> result(std::string("hello"));
  ASSERT_TRUE(result.isOk());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_TRUE(result.status().isOk());
  EXPECT_EQ(result.value(), "hello");
  EXPECT_EQ(*result, "hello");
  EXPECT_EQ(result->size(), 5u);
  result.value() += "!";
  EXPECT_EQ(*result, "hello!");
}

TEST(Result, HoldsError) {
  Result<int> result(timeoutError("deadline passed"));
  EXPECT_FALSE(result.isOk());
  EXPECT_FALSE(static_cast<bool>(result));
  EXPECT_EQ(result.status().code(), Code::kTimeout);
  EXPECT_EQ(result.status().message(), "deadline passed");
}

TEST(Result, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(42));
  ASSERT_TRUE(result.isOk());
  std::unique_ptr<int> taken = std::move(result).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 42);
}

Result<int> parsePositive(int raw) {
  if (raw <= 0) return invalidArgument("not positive: " + std::to_string(raw));
  return raw;
}

TEST(Result, ImplicitFromValueAndStatusInReturn) {
  EXPECT_EQ(*parsePositive(7), 7);
  Result<int> bad = parsePositive(-1);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not positive: -1");
}

// Runs steps in order through ECCL_RETURN_IF_ERROR, recording which ran.
Status runSteps(const std::vector<Status>& steps, std::vector<size_t>& ran) {
  for (size_t i = 0; i < steps.size(); ++i) {
    ECCL_RETURN_IF_ERROR([&] {
      ran.push_back(i);
      return steps[i];
    }());
  }
  return Status::ok();
}

TEST(ReturnIfError, ContinuesWhileOk) {
  std::vector<size_t> ran;
  Status status = runSteps({Status::ok(), Status::ok(), Status::ok()}, ran);
  EXPECT_TRUE(status.isOk());
  EXPECT_EQ(ran, (std::vector<size_t>{0, 1, 2}));
}

TEST(ReturnIfError, ReturnsFirstFailureUnchanged) {
  std::vector<size_t> ran;
  Status status =
      runSteps({Status::ok(), systemError("socket"), internalError("never reached")}, ran);
  EXPECT_EQ(status.code(), Code::kSystemError);
  EXPECT_EQ(status.message(), "socket");
  EXPECT_EQ(ran, (std::vector<size_t>{0, 1}));  // each expression evaluated once, none after
}

TEST(ReturnIfError, WorksAsSingleStatementInIfElse) {
  // The do/while(0) wrapper must make the macro one statement.
  auto check = [](bool fail) -> Status {
    if (fail)
      ECCL_RETURN_IF_ERROR(abortedError("stop"));
    else
      ECCL_RETURN_IF_ERROR(Status::ok());
    return invalidUsage("fell through");
  };
  EXPECT_EQ(check(true).code(), Code::kAborted);
  EXPECT_EQ(check(false).code(), Code::kInvalidUsage);
}

}  // namespace
}  // namespace eccl
