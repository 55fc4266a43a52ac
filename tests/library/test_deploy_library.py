"""The library under the plugin, without pytest: `deploy()` from a plain script, on the moto
default (real predictions) and on the aws code path (against a moto server on loopback), with
the same cleanup guarantees as a session."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.aws_path import BUCKET, IMAGE, ROLE, MotoServer
from helpers.container_setup import MODEL_FN, SKLEARN_ENV
from helpers.models import build_sklearn_model

from pytest_smendpoint import DeployedEndpoint, SettingsError, deploy, make_settings


def test_plain_script_deploys_predicts_for_real_and_tears_down(
    sklearn_model_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "score.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import joblib
            import pandas as pd
            from sklearn.datasets import load_iris

            from pytest_smendpoint import deploy, make_settings, open_account

            features, _ = load_iris(return_X_y=True, as_frame=True)
            expected = joblib.load({str(sklearn_model_dir / "model.joblib")!r}).predict(features)
            settings = make_settings(
                model_data={str(sklearn_model_dir)!r}, image_uri={IMAGE!r}, env={SKLEARN_ENV!r}
            )
            with open_account(settings) as account:  # the mocked account outlives the endpoint
                sagemaker = account.client("sagemaker")
                with deploy(settings=settings, account=account) as endpoint:
                    predictions = endpoint.invoke(features)
                    listed = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
                    assert listed == [endpoint.name], listed
                assert sagemaker.list_endpoints()["Endpoints"] == []
                assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
                assert sagemaker.list_models()["Models"] == []
            assert (predictions.to_numpy().ravel() == expected).all()
            assert list(predictions.index) == list(features.index)
            print("scored", len(predictions), "rows on", endpoint.record.backend)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "scored 150 rows on moto"


def test_aws_path_deploys_and_deletes_what_it_created_and_uploaded(
    moto_server: MotoServer, sklearn_model_dir: Path
) -> None:
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="users/own/model.tar.gz", Body=b"x")  # not the library's
    statuses: list[str] = []
    with deploy(
        backend="aws",
        model_data=str(sklearn_model_dir),
        image_uri=IMAGE,
        role=ROLE,
        on_status=lambda status, _elapsed: statuses.append(status),
    ) as endpoint:
        assert isinstance(endpoint, DeployedEndpoint)
        assert endpoint.record.owned and endpoint.record.backend == "aws"
        assert not endpoint.record.csv_float32  # an entry script may read CSV its own way
        sagemaker = moto_server.client("sagemaker")
        described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
        assert described["EndpointStatus"] == "InService"
        assert moto_server.inventory().models == endpoint.record.model_names
    assert statuses and statuses[-1] == "InService"
    assert moto_server.inventory().empty
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["users/own/model.tar.gz"]


def test_an_error_in_the_block_still_deletes_everything(
    moto_server: MotoServer, sklearn_model_dir: Path
) -> None:
    with pytest.raises(ZeroDivisionError):
        with deploy(backend="aws", model_data=str(sklearn_model_dir), image_uri=IMAGE, role=ROLE):
            assert not moto_server.inventory().empty
            1 / 0  # noqa: B018 - the user's code fails mid-block
    assert moto_server.inventory().empty


def test_settings_are_checked_by_the_options_rules() -> None:
    settings = make_settings(instance_type="ml.c5.xlarge", env={"A": "1"}, label_column="y")
    assert settings.instance_type == "ml.c5.xlarge"
    assert dict(settings.env) == {"A": "1"}
    assert settings.invoke.label == ("y",)
    with pytest.raises(SettingsError) as bad:
        make_settings(instance_type="m5.large")
    assert str(bad.value) == (
        "instance_type='m5.large' (pytest_smendpoint.make_settings()): "
        "must be a SageMaker instance type such as ml.m5.large"
    )
    with pytest.raises(TypeError, match=r"^unknown option instance_typ; known: accept, "):
        make_settings(instance_typ="ml.m5.large")


def test_the_kind_of_endpoint_is_made_whole_by_the_options_rules() -> None:
    from pytest_smendpoint.settings.endpoint_kinds import EndpointKind, ServerlessSettings

    settings = make_settings(serverless_memory_mb=2048)
    assert settings.endpoint_kind is EndpointKind.SERVERLESS
    assert settings.serverless == ServerlessSettings(memory_mb=2048, max_concurrency=5)
    asynchronous = make_settings(async_output_path="s3://bucket/out")
    assert asynchronous.endpoint_kind is EndpointKind.ASYNC
    assert asynchronous.async_inference.output_path == "s3://bucket/out"


def test_deploy_without_a_model_says_what_to_give() -> None:
    with pytest.raises(SettingsError) as missing:
        with deploy():
            pass  # pragma: no cover - never reached
    assert str(missing.value) == (
        "deploy() needs a model: pass one, or a model source (model_data= with image_uri=, "
        "training_job= or existing_endpoint=)"
    )


def test_transformer_runs_jobs_without_pytest_and_leaves_nothing(sklearn_model_dir: Path) -> None:
    import joblib
    from sklearn.datasets import load_iris

    from pytest_smendpoint import open_account, transformer

    features, _ = load_iris(return_X_y=True, as_frame=True)
    model = joblib.load(sklearn_model_dir / "model.joblib")
    settings = make_settings(model_data=str(sklearn_model_dir), image_uri=IMAGE, env=SKLEARN_ENV)
    with open_account(settings) as account:
        sagemaker = account.client("sagemaker")
        with transformer(settings=settings, account=account) as transform:
            predictions = transform(features, instance_count=2)
            assert len(sagemaker.list_models()["Models"]) == 1
        assert sagemaker.list_models()["Models"] == []
    assert (predictions.to_numpy() == model.predict(features.to_numpy("float32"))).all()


def test_float32_text_goes_to_a_float32_endpoint_with_identical_predictions(
    tmp_path: Path,
) -> None:
    predict_fn = "\n\ndef predict_fn(data, model):\n    return model.predict_proba(data)\n"
    probabilities = MODEL_FN + predict_fn
    sklearn_model_dir = build_sklearn_model(tmp_path / "model", inference_script=probabilities)
    script = tmp_path / "score.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import numpy as np
            import pandas as pd

            from pytest_smendpoint import deploy, make_settings, open_account

            rng = np.random.default_rng(3)
            frame = pd.DataFrame(rng.normal(3.0, 2.0, (5000, 4)))
            settings = make_settings(
                model_data={str(sklearn_model_dir)!r}, image_uri={IMAGE!r}, env={SKLEARN_ENV!r}
            )
            full_settings = make_settings(settings, float32_csv=False)
            with open_account(settings) as account:
                with deploy(settings=settings, account=account) as endpoint:
                    assert endpoint.record.csv_float32  # serving.py's input_fn: float32
                    short = endpoint.invoker(frame)
                    full = endpoint.invoker.__class__(
                        endpoint.invoker.runtime, endpoint.name, full_settings.invoke,
                        csv_float32=True,
                    )
                    exact = full(frame)
            assert short.equals(exact)
            ratio = endpoint.invoker.stats.bytes_sent / full.stats.bytes_sent
            assert ratio < 0.6, ratio
            print("identical; bytes", round(ratio, 2))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("identical; bytes 0.")


@pytest.mark.parametrize(
    ("image", "environment", "float32"),
    [
        ("sagemaker-xgboost:1.7-1", {}, True),  # the built-in algorithm: a DMatrix
        ("sagemaker-xgboost:1.7-1", {"SAGEMAKER_PROGRAM": "inference.py"}, False),
        ("sagemaker-xgboost:9.9-9", {}, False),  # a version this plugin does not know
        ("sagemaker-scikit-learn:1.9-0-cpu-py3", {}, False),
    ],
)
def test_a_real_endpoint_reads_float32_only_when_its_image_alone_says_so(
    moto_server: MotoServer,
    sklearn_model_dir: Path,
    image: str,
    environment: dict[str, str],
    float32: bool,
) -> None:
    moto_server.client("s3").create_bucket(Bucket=BUCKET)
    with deploy(
        backend="aws",
        model_data=str(sklearn_model_dir),
        image_uri=f"683313688378.dkr.ecr.us-east-1.amazonaws.com/{image}",
        env=environment,
        role=ROLE,
    ) as endpoint:
        assert endpoint.record.csv_float32 is float32


@pytest.mark.slow  # over 1.5 s (loads the model)
def test_the_library_invokes_an_asynchronous_endpoint_and_leaves_no_async_data(
    sklearn_model_dir: Path,
) -> None:
    import joblib
    from sklearn.datasets import load_iris

    from pytest_smendpoint import open_account

    features, _ = load_iris(return_X_y=True, as_frame=True)
    expected = joblib.load(sklearn_model_dir / "model.joblib").predict(features.to_numpy())
    # `async` is a Python keyword: the option goes in as a mapping (or async_output_path=...).
    settings = make_settings(
        model_data=str(sklearn_model_dir), image_uri=IMAGE, env=SKLEARN_ENV, **{"async": True}
    )
    with open_account(settings) as account:
        with deploy(settings=settings, account=account) as endpoint:
            predictions = endpoint.invoke(features)
        s3 = account.client("s3")
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="pytest-smendpoint/")
        assert [i["Key"] for i in listed.get("Contents", []) if "/async/" in i["Key"]] == []
    assert (predictions.to_numpy().ravel() == expected).all()
