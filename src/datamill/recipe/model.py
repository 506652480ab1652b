"""Typed recipe models. Unknown keys are rejected everywhere; step params are validated by each step."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datamill.evaluate.spec import RecipeEval
from datamill.handoff.guard import OutputCheck
from datamill.train.spec import TrainSpec

FILE_FORMATS = ("auto", "jsonl", "json", "csv", "tsv", "parquet", "text-lines", "text-file", "hf")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(Strict):
    """One named input: files, a glob, an fsspec URL (s3://...), hf://org/dataset or a dataset_info.json."""

    path: str | list[str] = Field(description="path, glob, URL, hf://org/dataset, or a dataset_info.json")
    name: str | None = Field(None, description="provenance name; default: derived from the path")
    format: str = Field("auto", description="record format: auto or a named format adapter")
    file_format: str = Field("auto", description=f"container: one of {', '.join(FILE_FORMATS)}")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="field mapping onto canonical parts, e.g. {prompt: question, answer: solution}",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="reader options: delimiter, header, encoding, split (hf), text_unit (line|file) ...",
    )
    kind: str | None = Field(None, description="override the detected record kind (sft, chat, cot, ...)")
    limit: int | None = Field(None, ge=1, description="read at most this many rows (for trials)")
    role: Literal["data", "reference"] = Field(
        "data", description="data: read into the run's records; reference: an evaluation set that steps compare "
        "against by its name (check_leakage: {reference: [NAME]}), never read into the records or the outputs")

    @model_validator(mode="after")
    def _reference_has_a_name(self) -> InputSpec:
        if self.role == "reference" and not self.name:
            raise ValueError("an input with role: reference needs a name (steps refer to it by name)")
        return self

    @field_validator("file_format")
    @classmethod
    def _known_file_format(cls, v: str) -> str:
        if v not in FILE_FORMATS:
            raise ValueError(f"must be one of {', '.join(FILE_FORMATS)}")
        return v

    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class StepSpec(Strict):
    """A step as written in a recipe: ``- dedup_exact: {on: prompt}`` or ``{step: ..., params: {...}}``."""

    step: str
    params: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(None, description="optional label, used in the step's directory name")
    max_loss: float | None = Field(
        None, ge=0, le=1,
        description="this step's share of dropped + quarantined records above which the run fails "
                    "(default: the recipe's max_loss)",
    )
    checkpoint: bool = Field(
        False, description="store this step's output in the work directory (steps are otherwise fused with "
                           "the ones around them and their records stored only before global steps and outputs)",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"step": data, "params": {}}
        if isinstance(data, dict) and "step" not in data and len(data) == 1:
            (name, params), = data.items()
            return {"step": name, "params": params if params is not None else {}}
        if isinstance(data, dict) and "step" not in data and len(data) > 1:
            # `- filter: {...}` with a sibling key: `max_loss` and `id` sit next to the step name
            names = [k for k in data if k not in ("id", "max_loss", "checkpoint")]
            if len(names) == 1:
                rest = {k: v for k, v in data.items() if k != names[0]}
                return {"step": names[0], "params": data[names[0]] if data[names[0]] is not None else {}, **rest}
        return data


class OutputSpec(Strict):
    """Where and how the final records are written."""

    format: str = Field("jsonl", description="exporter name (jsonl, parquet, ... see 'datamill formats')")
    path: str = Field("export/", description="directory (or file) relative to the work directory, or a URL")
    name: str | None = Field(None, description="base file name; default 'data' (or the split name)")
    shard_size: int | None = Field(None, ge=1, description="records per file; None writes one file per split")
    split_by: str | None = Field(
        "split",
        description="field whose value names the file (train.jsonl, test.jsonl), or a template over fields "
        "('{meta.route}/{category}-{split}': '/' makes folders); None for one file",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="exporter-specific options")
    where: str | None = Field(
        None,
        description="only records for which this expression is true go to this output, e.g. \"kind == 'sft'\"; "
        "a record no output selects is counted as dropped with reason 'export:not_selected'",
    )
    check: OutputCheck | None = Field(
        None, description="measure records with the target model's tokenizer: {model, backend, cutoff_len, "
        "on_overlength: keep|truncate|drop|fail} (see datamill check)")

    @field_validator("split_by")
    @classmethod
    def _split_by_fields(cls, v: str | None) -> str | None:
        if v:
            import re

            from datamill.selectors import check_field

            for name in re.findall(r"\{([^{}]+)\}", v) if "{" in v else [v]:
                check_field(name.strip())
        return v

    @field_validator("where")
    @classmethod
    def _where_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            from datamill.errors import RecipeError
            from datamill.expr import compile_expr

            try:
                compile_expr(v)
            except RecipeError as exc:
                raise ValueError(exc.message + (f" (hint: {exc.hint})" if exc.hint else "")) from None
        return v


class ExecutorSpec(Strict):
    type: Literal["local", "ray"] = Field(
        "local", description="local: a process pool on this machine; ray: tasks on a Ray cluster "
                             "(pip install 'datamill[ray]'), same outputs byte for byte")
    workers: int | None = Field(None, ge=1, description="processes (ray: tasks at once); default: number of "
                                                        "CPU cores (ray: the cluster's CPUs)")
    shard_size: int = Field(10_000, ge=1, description="records per shard; bounds memory per worker")
    address: str | None = Field(
        None, description="ray: the cluster to join ('auto' for the one `ray start` made on this machine, "
                          "'HOST:PORT', 'ray://HOST:10001'); default: RAY_ADDRESS, else a Ray instance "
                          "started for this run on this machine")
    object_store_mb: int | None = Field(
        None, ge=64, description="ray: object store of a Ray instance started for this run (default 256 MB; "
                                 "only task descriptions and counts travel through it)")


class Recipe(Strict):
    """A datamill recipe: named inputs, an ordered list of steps, outputs."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    inputs: list[InputSpec] = Field(min_length=1)
    steps: list[StepSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=lambda: [OutputSpec()])
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    max_loss: float | None = Field(
        None, ge=0, le=1,
        description="the run fails (exit code 6) when a stage loses more than this share of its records "
                    "(dropped + quarantined); default: only when a stage loses every record of a non-empty "
                    "input. 1 turns the check off",
    )
    llm: dict[str, Any] | None = Field(
        None, description="LLM settings (provider, model, base_url, rpm, ...) shared by every LLM step; "
                          "a step's own 'llm' params override them key by key")
    train: TrainSpec | None = Field(
        None, description="train a model on the outputs after they are written (datamill train's options; "
                          "out: relative to the work directory, default train/); resumable like a stage")
    eval: RecipeEval | None = Field(
        None, description="evaluate the run's test split after the outputs and training: the model alone and "
                          "with what train: wrote, metrics (exact_match, judge), the before/after table; results in "
                          "eval/ (see docs/evaluation.md)")

    @model_validator(mode="after")
    def _some_data(self) -> Recipe:
        if all(spec.role == "reference" for spec in self.inputs):
            raise ValueError("every input has role: reference; at least one must be data (the records to process)")
        return self
