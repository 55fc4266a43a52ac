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
from dataclasses import dataclass, field
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
    packages: Mapping[str, str]  # distribution name -> the version the image pins ("": unpinned)
    source: str  # where these versions were read
    framework: str  # the package whose version names the image: scikit-learn, xgboost
    werkzeug: int  # the web stack's Werkzeug major version (0 for 0.15): its 500 page differs
    # A distribution installed under another name, same code: xgboost-cpu is xgboost without
    # CUDA's NCCL (300 MB); the images' CUDA builds predict the same on CPU instances.
    install_as: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def framework_version(self) -> str:
        return self.packages[self.framework]

    def shown(self) -> str:
        """`sagemaker-scikit-learn:1.2-1 (Python 3.9, scikit-learn 1.2.1, numpy 1.24.1, ...)`"""
        pins = ", ".join(
            f"{name} {version or 'unpinned'}" for name, version in self.packages.items()
        )
        return f"{self.tag} (Python {self.python}, {pins})"


def _runtime(
    repository: str,
    version: str,
    python: str,
    werkzeug: int,
    source: str,
    install_as: Mapping[str, str] | None = None,
    **packages: str,
) -> ImageRuntime:
    framework = "scikit-learn" if repository == SKLEARN else "xgboost"
    names = {key.replace("_", "-"): value for key, value in packages.items()}
    return ImageRuntime(
        repository,
        version,
        python,
        MappingProxyType(names),
        source,
        framework,
        werkzeug,
        MappingProxyType(dict(install_as or {})),
    )


_DLC = "aws/deep-learning-containers"
RUNTIMES: tuple[ImageRuntime, ...] = (
    _runtime(
        SKLEARN,
        "1.2-1",
        "3.9",
        2,
        f"{SKLEARN_SOURCE} branch 1.2-1 (b440c40, what the 1.2-1-cpu-py3 tag is rebuilt from): "
        "docker/1.2-1/base/Dockerfile.cpu (PYTHON_VERSION=3.9) and requirements.txt",
        scikit_learn="1.2.1",
        numpy="1.24.1",
        scipy="1.8.0",
        pandas="1.1.3",
        pyarrow="14.0.1",
    ),
    _runtime(
        SKLEARN,
        "1.4-2-py312",
        "3.12",
        2,
        f"{_DLC} docker/sklearn/1.4-2-py312/Dockerfile (PYTHON_VERSION=3.12) and "
        "requirements.txt (scipy>=1.9.0, unpinned)",
        scikit_learn="1.4.2",
        numpy="2.1.0",
        scipy="",
        pandas="2.3.2",
        pyarrow="17.0.0",
    ),
    _runtime(
        SKLEARN,
        "1.9-0",
        "3.12",
        3,
        f"{_DLC} docker/sklearn/1.9-0/Dockerfile (PYTHON_VERSION=3.12), pyproject.toml and uv.lock",
        scikit_learn="1.9.0",
        numpy="2.5.1",
        scipy="1.18.0",
        pandas="2.2.3",
        joblib="1.5.3",
        threadpoolctl="3.6.0",
        pyarrow="25.0.0",
    ),
    _runtime(
        XGBOOST,
        "1.7-1",
        "3.9",
        0,
        f"{XGBOOST_SOURCE} branch 1.7-1 (f7a93a2): docker/1.7-1/base/Dockerfile.cpu "
        "(PYTHON_VERSION=3.9, XGBOOST_VERSION=1.7.4) and requirements.txt",
        xgboost="1.7.4",
        numpy="1.24.1",
        scipy="1.8.0",
        pandas="1.2.4",
        scikit_learn="0.24.1",
        pyarrow="14.0.1",
    ),
    _runtime(
        XGBOOST,
        "3.0-5",
        "3.10",
        0,
        f"{_DLC} docker/xgboost/3.0-5/Dockerfile (PYTHON_VERSION=3.10, XGBOOST_VERSION=3.0.5) "
        "and requirements.txt",
        {"xgboost": "xgboost-cpu"},
        xgboost="3.0.5",
        numpy="2.1.0",
        scipy="1.15.0",
        pandas="2.2.3",
        scikit_learn="1.5.2",
        pyarrow="22.0.0",
    ),
    _runtime(
        XGBOOST,
        "3.2-0",
        "3.12",
        3,
        f"{_DLC} docker/xgboost/Dockerfile (PYTHON_VERSION=3.12), pyproject.toml and uv.lock",
        {"xgboost": "xgboost-cpu"},
        xgboost="3.2.0",
        numpy="2.1.0",
        scipy="1.15.0",
        pandas="2.2.3",
        scikit_learn="1.8.0",
        joblib="1.5.3",
        pyarrow="22.0.0",
    ),
)
# Versions the SageMaker SDK still offers whose Python is older than the 3.9 this plugin's
# serving code runs on: known, and refused with that reason.
UNSERVED: Mapping[str, str] = MappingProxyType(
    {
        f"{SKLEARN}:0.20.0": "3.7",
        f"{SKLEARN}:0.23-1": "3.7",
        f"{SKLEARN}:1.0-1": "3.8",
        f"{XGBOOST}:1.0-1": "3.7",
        f"{XGBOOST}:1.2-1": "3.7",
        f"{XGBOOST}:1.2-2": "3.7",
        f"{XGBOOST}:1.3-1": "3.7",
        f"{XGBOOST}:1.5-1": "3.8",
    }
)
BY_TAG: Mapping[str, ImageRuntime] = MappingProxyType({r.tag: r for r in RUNTIMES})
# `1.2-1-cpu-py3` -> `1.2-1`; `1.7-1` -> `1.7-1`; `0.20.0-cpu-py3` -> `0.20.0`;
# `1.4-2-py312-cpu-py3` -> `1.4-2-py312` (the SDK's version key is the tag's prefix).
_VERSION = re.compile(r"^(\d+\.\d+(?:\.\d+)?(?:-\d+)?(?:-py3\d+)?)(?:-|$)")


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


def version_of(image: str) -> str | None:
    """The image version its tag names (`1.2-1-cpu-py3` -> `1.2-1`), known or not."""
    match = _VERSION.match(repository_and_tag(image)[1] or "")
    return match.group(1) if match else None


def recorded(image: str) -> ImageRuntime | None:
    """The image's entry when its tag names a recorded version (never raises)."""
    repository, _ = repository_and_tag(image)
    return BY_TAG.get(f"{repository}:{version_of(image)}")


def known_tags(repository: str) -> list[str]:
    return [r.version for r in RUNTIMES if r.repository == repository]


def runtime_for(image: str) -> ImageRuntime | None:
    """The image's runtime; None for an image of another repository (not a framework image
    this catalog covers). UnknownImageTag for a framework image of an unknown version."""
    repository, tag = repository_and_tag(image)
    if repository not in (SKLEARN, XGBOOST):
        return None
    version = version_of(image)
    found = BY_TAG.get(f"{repository}:{version}") if version else None
    unserved = UNSERVED.get(f"{repository}:{version}")
    if unserved:
        raise UnknownImageTag(
            f"Image {image}: {repository}:{version} runs Python {unserved}, older than the "
            "Python 3.9 pytest-smendpoint's local serving runs in, so it cannot serve the model "
            f"as that image would. Served versions: {', '.join(known_tags(repository))}. To "
            "fix: deploy one of those, or serve with the test environment's packages "
            "(--sm-image-packages=test-env, marked as such in every report)."
        )
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
