#include "kube/watch_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace npc::kube {
namespace {

using ::testing::HasSubstr;

struct Seen {
  EventType type;
  std::string object;
  std::string rv;
  int error_code = 0;
  bool expired = false;

  bool operator==(const Seen&) const = default;
};

std::string Event(std::string_view type, std::string_view object) {
  return std::string(R"({"type":")") + std::string(type) + R"(","object":)" + std::string(object) +
         "}\n";
}

// Objects that break naive splitters: braces and quotes inside strings, escaped
// backslashes right before a closing quote, unicode escapes, nested arrays.
const std::vector<std::string>& Objects() {
  static const std::vector<std::string> objs = {
      R"({"kind":"NetworkPolicy","metadata":{"name":"a{b}","namespace":"ns","resourceVersion":"101"},"spec":{"podSelector":{}}})",
      R"({"kind":"ConfigMap","metadata":{"resourceVersion":"102","name":"q\"}{\"x"},"data":{"k":"ends with backslash \\","j":"{\"nested\":[1,2,{}]}"}})",
      R"({"kind":"Pod","metadata":{"name":"p","labels":{"a":"\u007b"},"resourceVersion":"103"},"spec":{"containers":[{"args":["}","]","\\\"","[{"]}]}})",
      R"({"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"104"}})",
  };
  return objs;
}

std::string Stream(std::vector<Seen>* want) {
  const auto& o = Objects();
  std::string s;
  s += Event("ADDED", o[0]);
  want->push_back({EventType::kAdded, o[0], "101"});
  s += "  \n" + Event("MODIFIED", o[1]);
  want->push_back({EventType::kModified, o[1], "102"});
  // Keys in the other order, with whitespace around the object.
  s += std::string(R"({"object" : )") + o[2] + R"( , "type":"DELETED"})";
  want->push_back({EventType::kDeleted, o[2], "103"});
  std::string bookmark =
      R"({"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"200","annotations":{"k8s.io/initial-events-end":"true"}}})";
  s += Event("BOOKMARK", bookmark);
  want->push_back({EventType::kBookmark, bookmark, "200"});
  std::string status =
      R"j({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (200)","reason":"Expired","code":410})j";
  s += Event("ERROR", status);
  want->push_back({EventType::kError, status, "", 410, true});
  s += Event("ADDED", o[3]);
  want->push_back({EventType::kAdded, o[3], "104"});
  return s;
}

Status Collect(std::vector<Seen>* out, const WatchEvent& e) {
  Seen s{e.type, std::string(e.object), std::string(e.resource_version)};
  if (e.type == EventType::kError) {
    EXPECT_NE(e.error, nullptr);
    s.error_code = e.error->http_code;
    s.expired = e.error->IsExpired();
  }
  out->push_back(std::move(s));
  return Status::Ok();
}

TEST(WatchDecoderTest, WholeStream) {
  std::vector<Seen> want, got;
  std::string stream = Stream(&want);
  WatchDecoder d;
  ASSERT_TRUE(d.Feed(stream, [&](const WatchEvent& e) { return Collect(&got, e); }).ok());
  EXPECT_EQ(got, want);
  EXPECT_FALSE(d.HasPartialEvent());
}

// An event with two "object" keys (no API server sends one; found by fuzz/
// watch_stream): the last object wins, and with it its resourceVersion --
// none here -- never the first object's.
TEST(WatchDecoderTest, ALaterObjectKeyWinsWithItsOwnResourceVersion) {
  const std::string second = R"({"kind":"Status","metadata":{},"code":410})";
  const std::string event = std::string(R"({"type":"ADDED","object":)") + Objects()[0] +
                            R"(,"object":)" + second + "}\n";
  std::vector<Seen> got;
  WatchDecoder d;
  ASSERT_TRUE(d.Feed(event, [&](const WatchEvent& e) { return Collect(&got, e); }).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object, second);
  EXPECT_EQ(got[0].rv, "");
}

TEST(WatchDecoderTest, SplitAtEveryBytePosition) {
  std::vector<Seen> want;
  std::string stream = Stream(&want);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    std::vector<Seen> got;
    WatchDecoder d;
    auto fn = [&](const WatchEvent& e) { return Collect(&got, e); };
    ASSERT_TRUE(d.Feed(std::string_view(stream).substr(0, cut), fn).ok()) << cut;
    ASSERT_TRUE(d.Feed(std::string_view(stream).substr(cut), fn).ok()) << cut;
    ASSERT_EQ(got, want) << "split at byte " << cut;
  }
}

TEST(WatchDecoderTest, SplitAtEveryPairOfPositionsInOneEvent) {
  // Three chunks, both cuts inside the trickiest event.
  std::string ev = Event("MODIFIED", Objects()[1]) + Event("ADDED", Objects()[2]);
  for (size_t a = 0; a <= ev.size(); ++a) {
    for (size_t b = a; b <= ev.size(); b += 3) {
      std::vector<Seen> got;
      WatchDecoder d;
      auto fn = [&](const WatchEvent& e) { return Collect(&got, e); };
      std::string_view s(ev);
      ASSERT_TRUE(d.Feed(s.substr(0, a), fn).ok());
      ASSERT_TRUE(d.Feed(s.substr(a, b - a), fn).ok());
      ASSERT_TRUE(d.Feed(s.substr(b), fn).ok());
      ASSERT_EQ(got.size(), 2u) << a << "," << b;
      EXPECT_EQ(got[0].object, Objects()[1]);
      EXPECT_EQ(got[1].rv, "103");
    }
  }
}

TEST(WatchDecoderTest, OneByteChunks) {
  std::vector<Seen> want, got;
  std::string stream = Stream(&want);
  WatchDecoder d;
  for (char c : stream) {
    ASSERT_TRUE(d.Feed(std::string_view(&c, 1), [&](const WatchEvent& e) {
                   return Collect(&got, e);
                 }).ok());
  }
  EXPECT_EQ(got, want);
}

TEST(WatchDecoderTest, VeryLargeObjectInRandomChunks) {
  std::string big = R"({"metadata":{"name":"big","resourceVersion":"9"},"data":{)";
  for (int i = 0; i < 60000; ++i) {
    if (i > 0) big += ',';
    big += "\"k" + std::to_string(i) + "\":\"v{}\\\"" + std::to_string(i) + "\"";
  }
  big += "}}";
  ASSERT_GT(big.size(), 1u << 20);
  std::string stream = Event("ADDED", big) + Event("DELETED", big);
  std::mt19937 rng(42);
  std::vector<Seen> got;
  WatchDecoder d;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::uniform_int_distribution<size_t>(1, 70000)(rng);
    n = std::min(n, stream.size() - pos);
    ASSERT_TRUE(d.Feed(std::string_view(stream).substr(pos, n), [&](const WatchEvent& e) {
                   return Collect(&got, e);
                 }).ok());
    pos += n;
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].object, big);
  EXPECT_EQ(got[1].type, EventType::kDeleted);
  EXPECT_EQ(got[1].rv, "9");
}

TEST(WatchDecoderTest, PrettyPrintedAndUnseparatedEvents) {
  // Newlines inside objects, several objects on one line, none after the last.
  std::string stream =
      "{\n  \"type\": \"ADDED\",\n  \"object\": {\"metadata\": {\n"
      "    \"resourceVersion\": \"5\"}}\n}\n"
      R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"6"}}}{"type":"DELETED",)"
      "\n"
      R"("object":{"metadata":{"resourceVersion":"7"}}}{"type":"ADDED","object":{"a":"\n"}})";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    std::vector<Seen> got;
    WatchDecoder d;
    auto fn = [&](const WatchEvent& e) { return Collect(&got, e); };
    ASSERT_TRUE(d.Feed(std::string_view(stream).substr(0, cut), fn).ok()) << cut;
    ASSERT_TRUE(d.Feed(std::string_view(stream).substr(cut), fn).ok()) << cut;
    ASSERT_EQ(got.size(), 4u) << "split at " << cut;
    EXPECT_EQ(got[0].rv, "5");
    EXPECT_EQ(got[1].rv, "6");
    EXPECT_EQ(got[2].rv, "7");
    EXPECT_EQ(got[3].object, R"({"a":"\n"})");
    EXPECT_FALSE(d.HasPartialEvent());
  }
}

TEST(WatchDecoderTest, PartialEventIsReported) {
  WatchDecoder d;
  int n = 0;
  ASSERT_TRUE(d.Feed(R"({"type":"ADDED","object":{"metadata":{)", [&](const WatchEvent&) {
                 ++n;
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(d.HasPartialEvent());
}

TEST(WatchDecoderTest, RejectsGarbage) {
  auto ignore = [](const WatchEvent&) { return Status::Ok(); };
  {
    WatchDecoder d;
    Status s = d.Feed("<html>", ignore);
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr("unexpected byte"));
  }
  {
    WatchDecoder d;
    Status s = d.Feed(R"({"type":"EXPLODED","object":{}})", ignore);
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr("EXPLODED"));
  }
  {
    WatchDecoder d;
    EXPECT_FALSE(d.Feed(R"({"object":{}})", ignore).ok());
  }
  {
    WatchDecoder d(/*max_object_bytes=*/100);
    EXPECT_FALSE(
        d.Feed(R"({"type":"ADDED","object":{"data":")" + std::string(200, 'x'), ignore).ok());
  }
}

TEST(WatchDecoderTest, CallbackErrorStopsFeed) {
  std::vector<Seen> want;
  std::string stream = Stream(&want);
  WatchDecoder d;
  int n = 0;
  Status s = d.Feed(stream, [&](const WatchEvent&) {
    ++n;
    return Status(StatusCode::kCancelled, "enough");
  });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_EQ(n, 1);
}

TEST(JsonStreamSplitterTest, ObjectsAreFollowedByPadding) {
  JsonStreamSplitter s;
  std::vector<std::string> got;
  ASSERT_TRUE(s.Feed("{\"a\":1}{\"b\":\"}\"}\n\n{}", [&](std::string_view o) {
                 got.emplace_back(o);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"{\"a\":1}", "{\"b\":\"}\"}", "{}"}));
}

// Many objects on one line (valid, though the API server ends each event with
// a newline): the fast path offers the line once, not once per object, so the
// work stays linear in the line's length. (Found while fuzzing watch streams:
// 16000 events on a 1 MB line took seconds.)
TEST(JsonStreamSplitterTest, ALineOfManyObjectsIsOfferedOnce) {
  std::string line;
  for (int i = 0; i < 1000; ++i) line += R"({"a":1})";
  line += "\n{\"b\":2}\n";
  JsonStreamSplitter s;
  int objects = 0;
  int offers = 0;
  size_t offered = 0;
  ASSERT_TRUE(s.Feed(
                   line,
                   [&](std::string_view) {
                     ++objects;
                     return Status::Ok();
                   },
                   [&](std::string_view l) -> std::optional<Status> {
                     ++offers;
                     offered += l.size();
                     if (l != R"({"b":2})") return std::nullopt;  // several objects: scan them
                     ++objects;
                     return Status::Ok();
                   })
                  .ok());
  EXPECT_EQ(objects, 1001);
  EXPECT_EQ(offers, 2);  // the long line, then {"b":2}
  EXPECT_LE(offered, line.size());
}

}  // namespace
}  // namespace npc::kube
