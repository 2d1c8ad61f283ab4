#include "kube/list_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

#include "kube/watch_decoder.h"

namespace npc::kube {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Items that break naive scanners: braces, brackets and quotes inside strings,
// a backslash right before a closing quote, a key named "items" inside an item
// and inside the list's metadata, nested arrays.
const std::vector<std::string>& Items() {
  static const std::vector<std::string> items = {
      R"({"metadata":{"name":"a{b}","namespace":"ns","resourceVersion":"101"},"spec":{"podSelector":{}}})",
      R"({"metadata":{"resourceVersion":"102","name":"q\"}{\"x]"},"data":{"k":"ends with backslash \\","items":"[{\"nested\":[1,2,{}]}]"}})",
      R"({"metadata":{"name":"p","labels":{"a":"\u007b"}},"spec":{"items":[{"x":["}","]","\\\"","[{"]}]}})",
      R"({})",
  };
  return items;
}

std::string Join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += ",\n ";
    s += i;
  }
  return s;
}

// The API server's order, pretty-printed, and with the items before the metadata.
std::vector<std::string> Pages() {
  return {
      R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"77","continue":"tok\"en"},"items":[)" +
          Join(Items()) + "]}",
      "{\n  \"items\" : [\n " + Join(Items()) +
          "\n  ],\n  \"metadata\": {\"items\": [1], \"continue\": \"tok\\\"en\", "
          "\"resourceVersion\": \"77\"},\n  \"kind\": \"ConfigMapList\"\n}\n",
  };
}

struct Decoded {
  std::vector<std::string> items;
  ListPageMeta meta;
  Status status;
};

// Feeds `page` cut at `cuts` (sorted offsets).
Decoded Decode(ListPageDecoder& d, const std::string& page, const std::vector<size_t>& cuts) {
  Decoded out;
  auto on_item = [&](std::string_view item) -> Status {
    // The promised padding is readable: simdjson parses the item in place.
    simdjson::ondemand::parser p;
    simdjson::ondemand::document doc;
    if (auto ec = p.iterate(item.data(), item.size(), item.size() + kJsonPadding).get(doc); ec) {
      return Status(StatusCode::kInternal, simdjson::error_message(ec));
    }
    std::string_view raw;
    if (auto ec = doc.raw_json().get(raw); ec) {
      return Status(StatusCode::kInternal, simdjson::error_message(ec));
    }
    out.items.emplace_back(item);
    return Status::Ok();
  };
  size_t from = 0;
  for (size_t cut : cuts) {
    out.status = d.Feed(std::string_view(page).substr(from, cut - from), on_item);
    if (!out.status.ok()) return out;
    from = cut;
  }
  out.status = d.Feed(std::string_view(page).substr(from), on_item);
  if (out.status.ok()) out.status = d.Finish(&out.meta);
  return out;
}

TEST(ListPageDecoderTest, WholePage) {
  for (const std::string& page : Pages()) {
    ListPageDecoder d;
    Decoded r = Decode(d, page, {});
    ASSERT_TRUE(r.status.ok()) << r.status.ToString() << "\n" << page;
    EXPECT_THAT(r.items, ElementsAreArray(Items()));
    EXPECT_EQ(r.meta.resource_version, "77");
    EXPECT_EQ(r.meta.continue_token, "tok\"en");
  }
}

TEST(ListPageDecoderTest, EverySplitPointAndReuse) {
  ListPageDecoder d;  // one decoder, reset between pages, as the client uses it
  for (const std::string& page : Pages()) {
    for (size_t cut = 0; cut <= page.size(); ++cut) {
      d.Reset();
      Decoded r = Decode(d, page, {cut});
      ASSERT_TRUE(r.status.ok()) << "cut at " << cut << ": " << r.status.ToString();
      ASSERT_THAT(r.items, ElementsAreArray(Items())) << "cut at " << cut;
      ASSERT_EQ(r.meta.continue_token, "tok\"en");
    }
  }
}

TEST(ListPageDecoderTest, RandomChunksAndByteByByte) {
  std::mt19937 rng(7);
  ListPageDecoder d;
  for (const std::string& page : Pages()) {
    for (int round = 0; round < 200; ++round) {
      std::vector<size_t> cuts;
      std::uniform_int_distribution<size_t> at(0, page.size());
      for (int k = 0; k < 8; ++k) cuts.push_back(at(rng));
      std::sort(cuts.begin(), cuts.end());
      d.Reset();
      Decoded r = Decode(d, page, cuts);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      ASSERT_THAT(r.items, ElementsAreArray(Items()));
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < page.size(); ++i) every.push_back(i);
    d.Reset();
    Decoded r = Decode(d, page, every);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_THAT(r.items, ElementsAreArray(Items()));
    EXPECT_EQ(r.meta.resource_version, "77");
  }
}

TEST(ListPageDecoderTest, EmptyAndNullItems) {
  for (const char* page : {R"({"metadata":{"resourceVersion":"5"},"items":[]})",
                           R"({"metadata":{"resourceVersion":"5"},"items":null})",
                           R"({"metadata":{"resourceVersion":"5"}})"}) {
    ListPageDecoder d;
    Decoded r = Decode(d, page, {});
    ASSERT_TRUE(r.status.ok()) << page << ": " << r.status.ToString();
    EXPECT_TRUE(r.items.empty());
    EXPECT_EQ(r.meta.resource_version, "5");
    EXPECT_EQ(r.meta.continue_token, "");
  }
}

// JSON lets any key character be escaped: "it\u0065ms" is "items". Reading it
// as another key would drop every item and make the list look empty.
// (Found by fuzz/list_stream.)
TEST(ListPageDecoderTest, EscapedItemsKey) {
  for (const char* page :
       {R"({"it\u0065ms":[{"a":1},{"b":2}],"metadata":{"resourceVersion":"3"}})",
        R"({"metadata":{"resourceVersion":"3"},"\u0069tems" : [{"a":1},{"b":2}]})"}) {
    for (size_t cut = 0; cut <= std::string_view(page).size(); ++cut) {
      ListPageDecoder d;
      Decoded r = Decode(d, page, {cut});
      ASSERT_TRUE(r.status.ok()) << page << ": " << r.status.ToString();
      ASSERT_THAT(r.items, ElementsAreArray({R"({"a":1})", R"({"b":2})"}))
          << page << " cut at " << cut;
      EXPECT_EQ(r.meta.resource_version, "3");
    }
  }
  // Other escaped keys stay other keys.
  ListPageDecoder d;
  Decoded r = Decode(d, R"({"item\u0073x":[{"a":1}],"i\"tems":[{"b":2}]})", {});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.items.empty());
}

TEST(ListPageDecoderTest, ItemsLargerThanTheInitialBuffer) {
  std::string big = R"({"metadata":{"name":"big"},"data":{"v":")" + std::string(100000, 'x') +
                    R"("}})";
  std::string page = R"({"metadata":{"resourceVersion":"9"},"items":[)" + big + "," + big + "]}";
  ListPageDecoder d;
  Decoded r = Decode(d, page, {10, 5000, 150000});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_THAT(r.items, ElementsAreArray({big, big}));
}

TEST(ListPageDecoderTest, Malformed) {
  struct Case {
    std::string page;
    std::string error;
  };
  const std::vector<Case> cases = {
      {R"([1,2])", "not a JSON object"},
      {R"("items")", "not a JSON object"},
      {R"({"items":[1,2]})", "not an object"},
      {R"({"items":["a"]})", "not an object"},
      {R"({"items":[[]]})", "not an object"},
      {R"({"items":[{}]]})", "unbalanced"},
      // An element closed by ']' is no object, though the page balances.
      // (Found by fuzz/list_stream.)
      {R"({"items":[{"a":[1}]]})", "not an object"},
      {R"({"items":[{}]}})", "unbalanced"},
      {R"({"items":[{}]} {})", "after the list object"},
      {R"({"items":[{}]} x)", "after the list object"},
      {R"({"items":[{"a":1})", "ended in the middle"},
      {R"({"items":[{"a":"1}]})", "ended in the middle"},
      {R"({"items":[{}])", "ended in the middle"},
      {"", "ended in the middle"},
  };
  for (const Case& c : cases) {
    ListPageDecoder d;
    Decoded r = Decode(d, c.page, {});
    EXPECT_FALSE(r.status.ok()) << c.page;
    EXPECT_THAT(r.status.message(), HasSubstr(c.error)) << c.page;
  }
}

TEST(ListPageDecoderTest, ItemSizeLimit) {
  ListPageDecoder d(64);
  Decoded r = Decode(
      d, R"({"items":[{"a":"small"},{"a":")" + std::string(100, 'x') + R"("}]})", {});
  EXPECT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr("larger than 64 bytes"));
  EXPECT_EQ(r.items.size(), 1u);
}

TEST(ListPageDecoderTest, HandlerErrorStopsFeed) {
  ListPageDecoder d;
  int n = 0;
  Status s = d.Feed(Pages()[0], [&](std::string_view) {
    ++n;
    return Status(StatusCode::kInternal, "stop");
  });
  EXPECT_EQ(s, Status(StatusCode::kInternal, "stop"));
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace npc::kube
