"""One deploy + teardown cycle on the moto default: the plugin's lifecycle against what a user
writes by hand with SageMaker SDK v2 (`Model(...).deploy(...)`, then `delete_endpoint()`).

Both run in this one process, in the same moto-mocked account, imports excluded from the timing.
The plugin's cycle includes loading the real model for local serving; the SDK's does not (under
moto its `deploy(wait=True)` spends its time in a fixed 30 s poll). Needs SDK v2 for the second
half; with SDK v3 only the plugin's figure is printed.
"""

from __future__ import annotations

import os
import statistics
import time

import _quickstart_model as quickstart

PLUGIN_CYCLES = 20


def main() -> None:
    quickstart.require_model()
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from pytest_smendpoint import deploy, make_settings, open_account

    # The model served by the test environment's packages, then by the image's runtime (its
    # own Python and packages, installed beforehand: a one-off, like an image pull).
    medians = {}
    for packages in ("test-env", "image"):
        settings = make_settings(quickstart.settings(), image_packages=packages)
        with open_account(settings) as account:
            spec = quickstart.upload(account)
            times = []
            for cycle in range(PLUGIN_CYCLES + 1):
                started = time.perf_counter()
                with deploy(spec, settings=settings, account=account):
                    pass
                if cycle:  # the first one may install the runtime
                    times.append(time.perf_counter() - started)
        medians[packages] = statistics.median(times)
        print(
            f"plugin deploy + teardown (moto, real model loaded, --sm-image-packages={packages}),"
            f" median of {PLUGIN_CYCLES}: {medians[packages]:.3f} s (goal < 0.5 s)"
        )
    plugin = medians["image"]
    print(
        f"the image's runtime against the test environment's: {plugin / medians['test-env']:.2f}x"
    )
    settings = quickstart.settings()
    with open_account(settings) as backend:
        spec = quickstart.upload(backend)

        try:
            import sagemaker
            from sagemaker.model import Model
            from sagemaker.predictor import Predictor
        except ImportError:
            print("SageMaker SDK v2 not installed: no hand-written comparison")
            return
        session = sagemaker.Session(boto_session=backend.boto_session)
        model = Model(
            image_uri=quickstart.IMAGE,
            env=dict(quickstart.ENVIRONMENT),  # how the container finds code/inference.py
            model_data=spec.model_data_url,
            role=quickstart.ROLE,
            sagemaker_session=session,
            predictor_cls=Predictor,
        )
        started = time.perf_counter()
        predictor = model.deploy(
            initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="by-hand"
        )
        predictor.delete_model()  # first: delete_endpoint also deletes the config it reads
        predictor.delete_endpoint()
        by_hand = time.perf_counter() - started
        print(f"SDK v2 Model.deploy() + delete by hand (moto), 1 cycle:       {by_hand:.3f} s")
        print(f"ratio: the plugin's cycle is {by_hand / plugin:.0f}x faster")


if __name__ == "__main__":
    main()
