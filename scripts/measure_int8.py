"""Should the ONNX backend offer dynamic int8? Evaluate it against fp32 on every question set.

    .venv/bin/python scripts/measure_int8.py

Builds the index (torch, with its fp32 export) in a temporary directory, quantises the export
with onnxruntime's ``quantize_dynamic`` (int8 weights, activations quantised per call), and
prints, per question set, the advisor's figures for: fp32 ONNX; int8 queries against the fp32
index (what serving an int8 model over a torch-built index would do); and int8 throughout
(index vectors re-embedded with int8). Also the cosine of int8 to fp32 vectors on the eval
questions and the query latency of each. int8 is worth offering only if every set stays within
0.01 of fp32 on hit@1 and quote precision (answer and refusal rates are printed too).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIELDS = ("hit1", "hit3", "quote_precision", "answer_rate", "refusal_rate")


def main() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from bot.config import Settings
    from bot.knowledge import load_knowledge
    from bot.search.advisor import Advisor
    from bot.search.evaluation import advisor_ranker, evaluate, load_eval_set
    from bot.search.onnx_embedder import load_onnx_embedder
    from bot.search.store import build_index, rebuild_index
    from bot.search.torch_embedder import load_embedder, resolve_model
    from tests.helpers import compared_sets

    work = Path(tempfile.mkdtemp(prefix="advisor-int8-"))
    settings = Settings(data_dir=work)
    knowledge = load_knowledge(settings.knowledge_dir)
    torch_embedder = load_embedder(settings.model, expected_sha256=settings.model_sha256)
    index = rebuild_index(knowledge, torch_embedder, settings.index_dir)
    location = resolve_model(settings.model)
    fp32 = load_onnx_embedder(torch_embedder.model_id, location, settings.index_dir / "model.onnx")
    int8_path = work / "model.int8.onnx"
    quantize_dynamic(str(settings.index_dir / "model.onnx"), str(int8_path), weight_type=QuantType.QInt8)
    int8 = load_onnx_embedder(torch_embedder.model_id, location, int8_path)
    int8_index = build_index(knowledge, int8, work / "int8-index")

    variants = {
        "fp32": Advisor(knowledge, fp32, index),
        "int8 query": Advisor(knowledge, int8, index),
        "int8 all": Advisor(knowledge, int8, int8_index),
    }
    sets = compared_sets()
    print(f"{'set':24}{'variant':12}" + "".join(f"{f:>13}" for f in FIELDS))
    worst = {name: 0.0 for name in variants}  # the largest drop from fp32 on any figure
    for path in sets:
        eval_set = load_eval_set(path, knowledge)
        reports = {name: evaluate(name, advisor_ranker(a), eval_set) for name, a in variants.items()}
        for name, report in reports.items():
            values = [getattr(report, f) for f in FIELDS]
            print(
                f"{path.name:24}{name:12}"
                + "".join(f"{v:>13.3f}" if v is not None else f"{'n/a':>13}" for v in values)
            )
            drops = [
                getattr(reports["fp32"], f) - getattr(report, f)
                for f in FIELDS
                if getattr(report, f) is not None and getattr(reports["fp32"], f) is not None
            ]
            worst[name] = max(worst[name], *drops)

    texts = []
    for path in sets:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data.get("in_domain", []) + data.get("off_topic", [])
        texts += [q if isinstance(q, str) else q["question"] for q in items]
    a, b = fp32.encode(texts), int8.encode(texts)
    cosine = (a * b).sum(axis=1)
    print(f"cosine int8 vs fp32 on {len(texts)} questions: mean {cosine.mean():.4f}, min {cosine.min():.4f}")
    for name, embedder in (("fp32", fp32), ("int8", int8)):
        times = []
        for text in texts:
            started = time.perf_counter()
            embedder.encode_one(text)
            times.append(time.perf_counter() - started)
        print(f"{name} query embedding p50 {statistics.median(times) * 1000:.2f} ms")
    for name in list(variants)[1:]:
        print(
            f"{name}: largest drop from fp32 on any figure and set {worst[name]:.3f} (offer only if <= 0.01)"
        )


if __name__ == "__main__":
    main()
