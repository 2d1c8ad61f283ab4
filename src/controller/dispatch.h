// The one place where decoded objects meet synthesis: which kinds of
// decode::Object the controller hands to synth::Incremental, and how. A new
// kind the model reads needs a line in each function, nothing elsewhere.
#pragma once

#include "decode/decode.h"
#include "synth/incremental.h"

namespace npc::controller {

// Adds or replaces the object in `model`. False when synthesis reads nothing
// of this kind, or nothing it reads changed.
bool UpsertIntoModel(synth::Incremental& model, const decode::Object& object);
// Forgets the object named by `meta` (its kind, namespace and name). False
// when the model did not hold it.
bool RemoveFromModel(synth::Incremental& model, const decode::Meta& meta);

}  // namespace npc::controller
