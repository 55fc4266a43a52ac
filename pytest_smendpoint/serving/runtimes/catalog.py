"""What each SageMaker scikit-learn and XGBoost inference image ships: its Python minor version
and the versions of the packages a model's code and pickles meet, recorded once, with where each
comes from (the containers' public requirements.txt and Dockerfiles at that release).

Only what loading and running a model touches is installed (the framework, numpy, scipy, pandas
and what pip resolves for them); the images' web stack (Flask, gunicorn, sagemaker-containers)
is emulated by the profiles instead. An entry script that imports one of those directly fails
offline and works on SageMaker: the safe direction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SKLEARN = "sagemaker-scikit-learn"
XGBOOST = "sagemaker-xgboost"
SKLEARN_SOURCE = "aws/sagemaker-scikit-learn-container"
XGBOOST_SOURCE = "aws/sagemaker-xgboost-container"


@dataclass(frozen=True)
class ImageRuntime:
    """One image version (`1.2-1`) of one repository: its Python and its pinned packages."""

    repository: str
    version: str
    python: str  # the minor version its Dockerfile installs: "3.9"
    packages: Mapping[str, str]  # distribution name -> the version the image pins
    source: str  # where these versions were read
    framework: str  # the package whose version names the image: scikit-learn, xgboost

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def framework_version(self) -> str:
        return self.packages[self.framework]

    def shown(self) -> str:
        """`sagemaker-scikit-learn:1.2-1 (Python 3.9, scikit-learn 1.2.1, numpy 1.24.1, ...)`"""
        pins = ", ".join(f"{name} {version}" for name, version in self.packages.items())
        return f"{self.tag} (Python {self.python}, {pins})"


def _runtime(
    repository: str, version: str, python: str, source: str, **packages: str
) -> ImageRuntime:
    framework = "scikit-learn" if repository == SKLEARN else "xgboost"
    names = {key.replace("_", "-"): value for key, value in packages.items()}
    return ImageRuntime(
        repository, version, python, MappingProxyType(names), source, framework
    )


RUNTIMES: tuple[ImageRuntime, ...] = (
    _runtime(
        SKLEARN,
        "1.2-1",
        "3.9",
        f"{SKLEARN_SOURCE} requirements.txt and docker/1.2-1/base/Dockerfile.cpu at the 1.2-1 "
        "release",
        scikit_learn="1.2.1",
        numpy="1.24.1",
        scipy="1.9.3",
        pandas="1.5.3",
    ),
    _runtime(
        SKLEARN,
        "1.9-0",
        "3.12",
        f"{SKLEARN_SOURCE} requirements.txt and docker/1.9-0 Dockerfile.cpu at the 1.9-0 release",
        scikit_learn="1.9.0",
        numpy="2.5.1",
        scipy="1.18.0",
        pandas="2.2.3",
    ),
    _runtime(
        XGBOOST,
        "1.7-1",
        "3.9",
        f"{XGBOOST_SOURCE} requirements.txt and docker/1.7-1 Dockerfile.cpu on the 1.7-1 branch",
        xgboost="1.7.4",
        numpy="1.24.1",
        scipy="1.8.0",
        pandas="1.5.3",
    ),
)
BY_TAG: Mapping[str, ImageRuntime] = MappingProxyType({r.tag: r for r in RUNTIMES})
# `1.2-1-cpu-py3` -> `1.2-1`; `1.7-1` -> `1.7-1`; `0.20.0-cpu-py3` -> `0.20.0`.
_VERSION = re.compile(r"^(\d+\.\d+(?:\.\d+)?(?:-\d+)?)(?:-|$)")


class UnknownImageTag(Exception):
    """A scikit-learn or XGBoost image whose tag names no version this catalog records."""


def repository_and_tag(image: str) -> tuple[str, str | None]:
    """`123.dkr.ecr.../sagemaker-scikit-learn:1.2-1-cpu-py3` -> (`sagemaker-scikit-learn`,
    `1.2-1-cpu-py3`); a digest or no tag gives None."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return name.split("@", 1)[0].lower(), None
    repository, _, tag = name.partition(":")
    return repository.lower(), (tag or None)


def known_tags(repository: str) -> list[str]:
    return [r.version for r in RUNTIMES if r.repository == repository]


def runtime_for(image: str) -> ImageRuntime | None:
    """The image's runtime; None for an image of another repository (not a framework image
    this catalog covers). UnknownImageTag for a framework image of an unknown version."""
    repository, tag = repository_and_tag(image)
    if repository not in (SKLEARN, XGBOOST):
        return None
    match = _VERSION.match(tag or "")
    found = BY_TAG.get(f"{repository}:{match.group(1)}") if match else None
    if found is None:
        shown = tag if tag else "no tag (a digest, or :latest implied)"
        raise UnknownImageTag(
            f"Image {image}: {repository} with tag {shown} is not an image version "
            f"pytest-smendpoint knows the Python and packages of, so it cannot serve the model "
            f"as that image would. Known versions: {', '.join(known_tags(repository))} (tags "
            f"such as {repository}:{known_tags(repository)[-1]}-cpu-py3). To fix: deploy one of "
            "those tags, or serve with the test environment's packages "
            "(--sm-image-packages=test-env, marked as such in every report)."
        )
    return found


def closest_for_framework(repository: str, framework_version: str) -> ImageRuntime | None:
    """The image whose framework has the same major.minor as `framework_version`: the one to
    suggest for a model trained with that version."""
    wanted = ".".join(framework_version.split(".")[:2])
    for runtime in RUNTIMES:
        have = ".".join(runtime.framework_version.split(".")[:2])
        if runtime.repository == repository and have == wanted:
            return runtime
    return None
