"""SageMaker's XGBoost container, one profile in one package: container.py (the registered
profile: staging, script mode or the built-in algorithm), algorithm.py (the built-in algorithm's
request path), codecs.py (its content types), selectable.py (its selectable inference content)."""
