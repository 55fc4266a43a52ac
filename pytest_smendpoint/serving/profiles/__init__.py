"""Container profiles: which serving rules an endpoint's image URI gets.

Each profile module has `stage(StageInput) -> Staged`, run in the test process (lay out the
container's folders, find requirements.txt), and, when it serves, `serve(model_dir, code_dir,
settings)`, run in the model process (import the entry script, load the model, answer requests).
The first rule whose pattern matches the image's repository name wins. Each profile module also
declares PRELOAD, what its model process imports anyway: a zygote imports the union once."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_smendpoint.serving.profiles.base import Staged, StageInput


@dataclass(frozen=True)
class Rule:
    """Image repositories matching `pattern` are served by `module`'s `function` (`module`
    relative to this package: a module, or a module of a profile's package)."""

    pattern: re.Pattern[str]
    module: str
    function: str = "stage"


RULES: tuple[Rule, ...] = (
    Rule(re.compile(r"sagemaker-scikit-learn"), "scikit_learn"),
    Rule(re.compile(r"sagemaker-xgboost"), "xgboost.container"),
    Rule(re.compile(r".*inference-toolkit.*"), "inference_toolkit"),
    Rule(
        re.compile(
            r".*(^|-)(pytorch|huggingface|tensorflow|mxnet|djl|tritonserver|autogluon|chainer|"
            r"sparkml|tei|tgi|vllm|lmi)(-|$).*"
        ),
        "refusals",
        "unfaithful",
    ),
)
FALLBACK = Rule(re.compile(".*"), "refusals", "bring_your_own")


def repository(image: str) -> str:
    """`123.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3` ->
    `sagemaker-scikit-learn` (the last path part, without tag or digest)."""
    name = image.rsplit("/", 1)[-1]
    return re.split(r"[:@]", name, maxsplit=1)[0].lower()


def rule_for(image: str) -> Rule:
    name = repository(image)
    return next((r for r in RULES if r.pattern.fullmatch(name)), FALLBACK)


def stage_for(image: str) -> Callable[[StageInput], Staged]:
    """The staging function of the image's profile."""
    rule = rule_for(image)
    module: Any = importlib.import_module(f"{__name__}.{rule.module}")
    return getattr(module, rule.function)  # type: ignore[no-any-return]


def reads_csv_as_float32_unseen(image: str, environment: Mapping[str, str]) -> bool:
    """Whether an endpoint of this image and environment reads CSV numbers as float32, judged
    without its model process (real SageMaker serves it): the profile's module may say so in a
    `reads_csv_as_float32(image, environment)` function. False when it cannot tell, as for an
    entry script, which may define its own input_fn."""
    rule = rule_for(image)
    module: Any = importlib.import_module(f"{__name__}.{rule.module}")
    judge = getattr(module, "reads_csv_as_float32", None)
    return bool(judge(image, environment)) if judge is not None else False


def preloads() -> tuple[str, ...]:
    """The modules a zygote imports before forking (zygote.py): every registered profile's
    PRELOAD, in RULES order, each once. A profile that cannot be imported in this interpreter
    (its packages are missing) preloads nothing."""
    names: dict[str, None] = {}
    for module_name in dict.fromkeys(rule.module for rule in (*RULES, FALLBACK)):
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except Exception:
            continue
        names.update(dict.fromkeys(getattr(module, "PRELOAD", ())))
    return tuple(names)
