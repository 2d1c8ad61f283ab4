#include "workqueue/workqueue.h"

namespace npc {

std::chrono::milliseconds BackoffPolicy::Delay(int failures) const {
  if (failures <= 0) return std::chrono::milliseconds(0);
  // Double without overflowing: stop as soon as the cap is reached.
  std::chrono::milliseconds d = base;
  for (int i = 1; i < failures && d < max; ++i) d *= 2;
  return std::min(d, max);
}

}  // namespace npc
