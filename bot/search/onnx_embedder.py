"""The same sentence-transformers model run by onnxruntime + tokenizers, without torch.

The export is the Hugging Face transformer alone (``input_ids``, ``attention_mask``,
``token_type_ids`` -> ``last_hidden_state``, batch and sequence axes dynamic), written by
``torch.onnx.export``; pooling and normalisation run in numpy as the model's own
sentence-transformers files say (``modules.json``, ``1_Pooling/config.json``,
``sentence_bert_config.json``). ``torch.onnx`` was chosen over sentence-transformers'
``backend="onnx"`` export because that one needs ``optimum`` (and its pinned transformers),
while torch is installed anyway to build the index.

An export is kept only after a parity check: the fixed sentences in PARITY_SENTENCES must
embed within PARITY_TOLERANCE of sentence-transformers in every dimension.

Importing this module imports neither torch nor onnxruntime; :func:`export_onnx` imports
torch (it runs at index build time), :func:`load_onnx_embedder` onnxruntime and tokenizers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedder import ModelError, Tokens, default_threads, normalised

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
# The weights sit beside the graph as external data: onnxruntime maps that file instead of
# parsing a 90 MB protobuf and copying it into tensors (peak RSS of a session: +55 MB, not +140),
# and the pages are shared by every process that maps it.
DATA_SUFFIX = ".data"
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PARITY_TOLERANCE = 1e-4
# Short and long, plain and odd: punctuation, digits, accents, emoji, Slack-ish markup, one
# sentence past max_seq_length (truncation) and an empty one.
PARITY_SENTENCES = (
    "Who should set next year's sales quota?",
    "Marketing finds the leads, while sales closes the deals.",
    "who owns the ICP",
    "Pricing & packaging: who decides the 10% discount for Q3?",
    "Café owners in São Paulo want a naïve résumé 🚀",
    "<@U123> can you tell me who writes the case studies?",
    "ok",
    "",
    " ".join(["Sales and marketing agree on a service-level agreement for every qualified lead."] * 40),
    "The product marketing manager writes the battle cards; account executives use them in calls.",
)


@dataclass(frozen=True)
class ModelConfig:
    """What sentence-transformers does around the transformer, read from its files."""

    max_seq_length: int
    pooling: str  # mean | cls
    normalize: bool
    dimension: int


def read_model_config(location: Path) -> ModelConfig:
    """The pooling, normalisation and length of a sentence-transformers model directory.

    Raises ModelError naming what this ONNX path does not support.
    """
    try:
        modules = json.loads((location / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise ModelError(f"modules {kinds} (only Transformer, Pooling[, Normalize])")
        if modules[0].get("path", "") != "":
            raise ModelError("the transformer is not at the model directory's top level")
        pooling = json.loads((location / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        modes = [
            k.removeprefix("pooling_mode_") for k, v in pooling.items() if k.startswith("pooling_mode_") and v
        ]
        if modes == ["mean_tokens"]:
            mode = "mean"
        elif modes == ["cls_token"]:
            mode = "cls"
        else:
            raise ModelError(f"pooling {modes} (only mean_tokens or cls_token)")
        st_config = json.loads((location / "sentence_bert_config.json").read_text(encoding="utf-8"))
        if not (location / "tokenizer.json").is_file():
            raise ModelError("no tokenizer.json")
        return ModelConfig(
            max_seq_length=int(st_config["max_seq_length"]),
            pooling=mode,
            normalize=kinds[-1] == "Normalize",
            dimension=int(pooling["word_embedding_dimension"]),
        )
    except ModelError as exc:
        raise ModelError(f"model at {location} cannot run on ONNX: {exc}") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelError(f"model at {location} cannot run on ONNX: {type(exc).__name__}: {exc}") from None


@dataclass
class OnnxEmbedder:
    """An :class:`~bot.search.embedder.Embedder` over an onnxruntime session."""

    model_id: str
    session: object  # onnxruntime.InferenceSession
    tokenizer: object  # tokenizers.Tokenizer, truncating to max_seq_length, padding to the longest
    config: ModelConfig
    backend: str = "onnx"
    # The export this session runs and what its index's manifest recorded of it: a rebuild
    # with this embedder (a playbook added) carries the same export into the new index.
    export_path: Path | None = None
    export_record: dict | None = None

    @property
    def dimension(self) -> int:
        return self.config.dimension

    def _run(self, texts: list[str]) -> tuple[np.ndarray, list, np.ndarray]:
        """Pooled vectors (as the model's own files say), encodings and hidden states."""
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (hidden,) = self.session.run(None, feeds)
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        if self.config.normalize:
            pooled = normalised(pooled)
        return pooled.astype(np.float32), encodings, hidden

    def _batches(self, texts: list[str], batch_size: int, progress: bool = False):
        """Like sentence-transformers: stripped, batched by length so little padding is run.
        Yields each batch's rows (positions in ``texts``) with what :meth:`_run` returns."""
        texts = [str(t).strip() for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        starts = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches")
        for start in starts:
            rows = order[start : start + batch_size]
            yield (rows, *self._run([texts[i] for i in rows]))

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, pooled, _encodings, _hidden in self._batches(texts, batch_size, progress):
            out[rows] = pooled
        return np.ascontiguousarray(out)

    def encode_tokens(self, texts: list[str], *, batch_size: int = 32) -> tuple[np.ndarray, list[Tokens]]:
        """Sentence vectors (as :meth:`encode`) and each text's word-piece vectors, in one pass."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        tokens: list[Tokens | None] = [None] * len(texts)
        for rows, pooled, encodings, hidden in self._batches(texts, batch_size):
            out[rows] = pooled
            for row, encoding, states in zip(rows, encodings, hidden, strict=True):
                mask = np.array(encoding.attention_mask, dtype=bool)
                tokens[row] = Tokens.inner(states[mask], np.array(encoding.ids, dtype=np.int64)[mask])
        return np.ascontiguousarray(out), tokens

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def known_words(self) -> set[str]:
        """Whole words in the model's word-piece vocabulary (words it reads as they are)."""
        return {w for w in self.tokenizer.get_vocab(with_added_tokens=True) if w.isalpha()}

    def export_onnx(self, target: Path) -> dict:
        """The export this model runs, linked (or copied) to ``target`` with its weights file:
        the export is of the model, not of the knowledge. Without one, why there is none."""
        record = self.export_record or {}
        if self.export_path is None or not record.get("file") or not self.export_path.is_file():
            return {"unavailable": f"built with the {self.backend} backend"}
        names = [record["file"], *([record["data"]] if record.get("data") else [])]
        for name in names:
            source, copy = self.export_path.with_name(name), target.with_name(name)
            try:
                os.link(source, copy)
            except OSError:
                shutil.copyfile(source, copy)
        return dict(record)


def load_onnx_embedder(
    model_id: str, location: Path, onnx_path: Path, *, threads: int | None = None
) -> OnnxEmbedder:
    """An embedder over an exported graph and the model directory's tokenizer, running on
    ``threads`` threads (None: :func:`bot.search.embedder.default_threads`)."""
    config = read_model_config(location)
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ModelError(f"the ONNX backend needs onnxruntime and tokenizers: {exc}") from None
    tokenizer = Tokenizer.from_file(str(location / "tokenizer.json"))
    # tokenizer.json carries its own (fixed 128) padding and truncation; use the model's length.
    tokenizer.enable_truncation(max_length=config.max_seq_length)
    pad = tokenizer.padding or {}
    tokenizer.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    # Idle session threads sleep instead of spinning: an answer does numpy work right after the
    # model runs (the word-piece match, scoring), and spinning threads can take the cores from it
    # (in some runs a warm answer took 12.1 ms with spinning, 6.7 ms without; in others the
    # two were alike; the embedding itself was never slower without).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    try:
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types; report one line
        raise ModelError(f"cannot load the ONNX model {onnx_path}: {exc}") from None
    return OnnxEmbedder(model_id=model_id, session=session, tokenizer=tokenizer, config=config)


def _split_weights(traced: Path, target: Path, data: Path) -> None:
    """Rewrite one self-contained ONNX file as a graph (``target``) and its weights (``data``)."""
    import onnx

    model = onnx.load(str(traced))
    data.unlink(missing_ok=True)
    onnx.save_model(
        model,
        str(target),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data.name,
        size_threshold=1024,
    )


def export_onnx(embedder, location: Path, target: Path) -> dict:
    """Export a sentence-transformers embedder's transformer to ``target`` and check parity
    (``embedder``: a :class:`bot.search.torch_embedder.TorchEmbedder`).

    Returns what the manifest records about the export; raises ModelError (and leaves no
    file) when the model is not supported or the export differs from sentence-transformers.
    """
    import torch

    config = read_model_config(location)
    transformer = embedder.model[0].auto_model

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = embedder.model.tokenizer(list(PARITY_SENTENCES[:2]), padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        raise ModelError(f"model at {location} cannot run on ONNX: its tokenizer gives no token_type_ids")
    dynamic = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")}
    target.parent.mkdir(parents=True, exist_ok=True)
    data = target.with_name(target.name + DATA_SUFFIX)
    traced = target.with_name(target.name + ".traced")
    was_training = transformer.training
    transformer.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python-side branches
            torch.onnx.export(
                LastHiddenState(transformer),
                tuple(sample[name] for name in INPUTS),
                str(traced),
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                dynamo=False,
            )
        _split_weights(traced, target, data)
        onnx_embedder = load_onnx_embedder(embedder.model_id, location, target)
        sentences = list(PARITY_SENTENCES)
        expected = embedder.encode(sentences)
        actual = onnx_embedder.encode(sentences)
        diff = float(np.abs(expected - actual).max())
        if not diff < PARITY_TOLERANCE:
            raise ModelError(
                f"the ONNX export of {embedder.model_id} differs from sentence-transformers by {diff:.2g}"
                f" (tolerance {PARITY_TOLERANCE:g}); not kept"
            )
    except BaseException:
        for path in (target, data):
            path.unlink(missing_ok=True)
        raise
    finally:
        traced.unlink(missing_ok=True)
        transformer.train(was_training)
    return {
        "file": target.name,
        "data": data.name,
        "exporter": f"torch.onnx {torch.__version__} opset {OPSET}",
        "inputs": list(INPUTS),
        "pooling": config.pooling,
        "normalize": config.normalize,
        "max_seq_length": config.max_seq_length,
        "parity_sentences": len(sentences),
        "parity_max_abs_diff": diff,
    }
