"""The engine's layering, read from the source (issue 15 §7): a driver (scenario/) sees
gen/gen_driver.h only, never the engine's private gen_internal.h; gen_internal.h is the
engine's own; the load models are reached through their ops tables — gen_run.c and
gen_conn.c name no model's function, and no model names another's."""

import os
import re

from harness import ROOT, main

SRC = os.path.join(ROOT, "src")
MODELS = {"gen_closed.c": "closed", "gen_open.c": "open"}


def read(*parts):
    with open(os.path.join(SRC, *parts)) as f:
        return f.read()


def sources():
    for d, _, files in os.walk(SRC):
        for f in files:
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, f), SRC)


def test_only_the_engine_includes_gen_internal():
    outside = [p for p in sources() if not p.startswith("gen/")
               and '"gen/gen_internal.h"' in read(p)]
    assert not outside, f"include gen/gen_internal.h outside src/gen/: {outside}"
    scenario = [p for p in sources() if p.startswith("scenario/")
                and '"gen/gen_driver.h"' in read(p)]
    assert scenario, "scenario/ includes gen/gen_driver.h"


def test_a_driver_writes_no_engine_counter():
    for p in sources():
        if p.startswith("scenario/"):
            text = read(p)
            for field in ("interval_counters", "->named", "->run->", "->driver_state",
                          "->retire", "->parser"):
                assert field not in text, f"{p} reaches into the engine: {field}"


def test_models_are_driven_through_their_ops():
    model_fn = re.compile(r"\bgen_(open|closed)_[a-z_]+\s*\(")
    for f in ("gen_run.c", "gen_conn.c", *MODELS):
        calls = model_fn.findall(read("gen", f))
        assert not calls, f"gen/{f} calls a model's function directly: {calls}"
    for f, name in MODELS.items():
        text = read("gen", f)
        assert f"const gen_model_t gen_model_{name} = {{" in text, f"gen/{f} has no ops table"
        others = [m for m in MODELS.values() if m != name and f"gen_model_{m}" in text]
        assert not others, f"gen/{f} names another model: {others}"


if __name__ == "__main__":
    main([test_only_the_engine_includes_gen_internal, test_a_driver_writes_no_engine_counter,
          test_models_are_driven_through_their_ops])
