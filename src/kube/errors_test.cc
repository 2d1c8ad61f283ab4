#include "kube/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace npc::kube {
namespace {

using ::testing::HasSubstr;

TEST(ParseStatusTest, NotFound) {
  KubeError e = ParseStatus(404, R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"networkpolicies.networking.k8s.io \"web\" not found","reason":"NotFound",
    "details":{"name":"web","group":"networking.k8s.io","kind":"networkpolicies"},"code":404})",
                            std::nullopt);
  EXPECT_EQ(e.reason, Reason::kNotFound);
  EXPECT_EQ(e.http_code, 404);
  EXPECT_EQ(e.name, "web");
  EXPECT_EQ(e.ToStatus().code(), StatusCode::kNotFound);
  EXPECT_THAT(e.ToStatus().message(), HasSubstr("\"web\" not found"));
}

TEST(ParseStatusTest, InvalidWithCauses) {
  KubeError e = ParseStatus(422, R"({"kind":"Status","status":"Failure",
    "message":"NetworkPolicy.networking.k8s.io \"x\" is invalid",
    "reason":"Invalid","details":{"causes":[
      {"reason":"FieldValueRequired","message":"Required value","field":"spec.podSelector"},
      {"reason":"FieldValueInvalid","message":"bad port","field":"spec.ingress[0].ports[0]"}]},
    "code":422})",
                            std::nullopt);
  EXPECT_EQ(e.reason, Reason::kInvalid);
  ASSERT_EQ(e.causes.size(), 2u);
  EXPECT_EQ(e.causes[0].field, "spec.podSelector");
  EXPECT_EQ(e.causes[1].reason, "FieldValueInvalid");
  EXPECT_EQ(e.ToStatus().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.Describe(), HasSubstr("spec.podSelector: Required value"));
}

TEST(ParseStatusTest, TooManyRequestsRetryAfter) {
  KubeError header = ParseStatus(429, R"({"kind":"Status","reason":"TooManyRequests",
      "message":"slow down","details":{"retryAfterSeconds":3},"code":429})",
                                 7);
  EXPECT_EQ(header.reason, Reason::kTooManyRequests);
  EXPECT_EQ(header.retry_after_seconds, 7);  // the header wins
  EXPECT_EQ(header.ToStatus().code(), StatusCode::kResourceExhausted);
  KubeError body = ParseStatus(429, R"({"kind":"Status","reason":"TooManyRequests",
      "details":{"retryAfterSeconds":3},"code":429})",
                               std::nullopt);
  EXPECT_EQ(body.retry_after_seconds, 3);
}

TEST(ParseStatusTest, ExpiredAndGone) {
  KubeError expired = ParseStatus(410, R"j({"kind":"Status","reason":"Expired",
      "message":"too old resource version: 1 (500)","code":410})j",
                                  std::nullopt);
  EXPECT_EQ(expired.reason, Reason::kExpired);
  EXPECT_TRUE(expired.IsExpired());
  EXPECT_EQ(expired.ToStatus().code(), StatusCode::kExpired);
  // An ERROR watch event: no HTTP code from the transport, the code comes from the body.
  KubeError gone = ParseStatus(0, R"({"kind":"Status","status":"Failure","code":410,
      "message":"too old"})",
                               std::nullopt);
  EXPECT_EQ(gone.http_code, 410);
  EXPECT_EQ(gone.reason, Reason::kGone);
  EXPECT_TRUE(gone.IsExpired());
}

TEST(ParseStatusTest, MapsEveryReason) {
  struct Row {
    int code;
    const char* reason;
    Reason want;
    StatusCode status;
  };
  const Row rows[] = {
      {401, "Unauthorized", Reason::kUnauthorized, StatusCode::kUnauthenticated},
      {403, "Forbidden", Reason::kForbidden, StatusCode::kPermissionDenied},
      {409, "AlreadyExists", Reason::kAlreadyExists, StatusCode::kAlreadyExists},
      {409, "Conflict", Reason::kConflict, StatusCode::kConflict},
      {504, "Timeout", Reason::kTimeout, StatusCode::kUnavailable},
      {500, "ServerTimeout", Reason::kServerTimeout, StatusCode::kUnavailable},
      {500, "InternalError", Reason::kInternalError, StatusCode::kUnavailable},
      {503, "ServiceUnavailable", Reason::kServiceUnavailable, StatusCode::kUnavailable},
      {400, "BadRequest", Reason::kBadRequest, StatusCode::kInvalidArgument},
  };
  for (const Row& r : rows) {
    std::string body = std::string(R"({"kind":"Status","reason":")") + r.reason +
                       R"(","message":"m","code":)" + std::to_string(r.code) + "}";
    KubeError e = ParseStatus(r.code, body, std::nullopt);
    EXPECT_EQ(e.reason, r.want) << r.reason;
    EXPECT_EQ(e.ToStatus().code(), r.status) << r.reason;
  }
}

TEST(ParseStatusTest, NonStatusBodyFallsBackToHttpCode) {
  KubeError e = ParseStatus(502, "<html>Bad Gateway</html>", std::nullopt);
  EXPECT_EQ(e.reason, Reason::kInternalError);
  EXPECT_EQ(e.message, "<html>Bad Gateway</html>");
  EXPECT_EQ(e.ToStatus().code(), StatusCode::kUnavailable);
  KubeError empty = ParseStatus(403, "", std::nullopt);
  EXPECT_EQ(empty.reason, Reason::kForbidden);
  EXPECT_THAT(empty.message, HasSubstr("403"));
}

TEST(ParseRetryAfterTest, Seconds) {
  EXPECT_EQ(ParseRetryAfter("5"), 5);
  EXPECT_EQ(ParseRetryAfter(" 12\r\n"), 12);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
}

}  // namespace
}  // namespace npc::kube
